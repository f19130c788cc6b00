"""The hooks a vendor package fills for the engine (architecture §6, §10).

Each vendor package (``vendors/infisical``, ``vendors/vercel``, ``vendors/supabase``) offers a
``SystemReconciler`` (a subclass of ``BaseReconciler``, which gives the optional hooks their
defaults): the engine calls ``observe`` (I/O, list calls only), then ``diff`` (pure), then
``apply`` once per change in the plan's order (or ``apply_batch`` once, for a vendor that
batches), journaling before and after each call. The Protocol lists every hook the
engine calls, so mypy checks them all; nothing is looked up with ``getattr``.

Vendor packages never import each other: what one needs from another (a client secret
minted in Infisical for a Vercel variable, a Supabase anon key published to Vercel)
arrives through the small capability protocols below, which the engine wires together.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from converge.changes import Change
from converge.errors import ConvergeError


@dataclass(frozen=True)
class AppliedChange:
    """What the journal records after a write: never a secret, only ids and markers.

    ``marker`` is the vendor's change marker after the write (``updatedAt``, a version),
    ``fingerprint`` the keyed fingerprint of a sensitive value that was sent.
    """

    vendor_id: str | None = None
    marker: str | None = None
    fingerprint: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Note:
    """Something the plan cannot verify (shown to people, never a change): a reconciler's
    ``notes`` after ``diff`` (Vercel and Supabase have them)."""

    change_key: str
    label: str
    message: str

    def describe(self) -> str:
        """``label: message``: how plan and drift list it."""
        return f"{self.label}: {self.message}"


BatchResult = AppliedChange | ConvergeError
"""What ``apply_batch`` gives for one change: what was written, or the error it met."""

ResultSink = Callable[[int, BatchResult], None]
"""Told each ``apply_batch`` result as soon as it is known: (index in the batch, result)."""


@dataclass(frozen=True)
class OwnedObject:
    """An object observe found carrying converge's ownership marker for this project:
    its vendor id and its current change marker (see ``SystemReconciler.owned_objects``)."""

    vendor_id: str
    marker: str | None = None


class SystemReconciler(Protocol):
    """One vendor system of one project: every hook the engine calls, and when.

    Per run, the engine calls ``desired_keys`` (any time), then ``observe`` once, ``diff``
    once, reads ``notes``, then writes the plan's changes (in ``order_changes`` order)
    with ``apply`` one at a time, or, when ``batches`` is true, with one ``apply_batch``
    call for all of them; after the writes it reads ``summary``. ``close`` is called
    last, whatever happened. ``BaseReconciler`` gives every optional hook its default.
    """

    system: str
    batches: bool

    def desired_keys(self) -> frozenset[str]:
        """Pure: the change keys of the objects the desired state declares to this system.

        With the objects the journal records as managed (``ManagedObject.key``), they are
        the system's objects: what plan, drift, status and the brief count (see
        ``converge.engine.objects``). Objects found only by observing (a table without
        row-level security) are not declared: they become objects once converge writes
        them."""
        ...

    def observe(self, *, markers: Mapping[str, str]) -> None:
        """Read the live state with list calls (one per kind of object). ``markers`` maps a
        change key to the change marker the journal recorded at the last apply, so objects
        whose marker did not move need not be read one by one. Idempotent."""
        ...

    def diff(self) -> Sequence[Change]:
        """Pure: the changes that bring the observed state to the desired state. An empty
        result right after a successful apply (normalisation on both sides)."""
        ...

    @property
    def notes(self) -> Sequence[Note]:
        """What the last ``diff`` could not verify (a write-only value with no journal
        marker): shown to people, never a change. Empty before ``diff``."""
        ...

    def apply(self, change: Change) -> AppliedChange:
        """Perform one change. Must be safe to call again after a crash: a create first
        looks for an object it may already have made. Raises a ConvergeError on failure."""
        ...

    def apply_batch(
        self, changes: Sequence[Change], *, on_result: ResultSink | None = None
    ) -> Sequence[BatchResult]:
        """Perform several changes in as few requests as the vendor allows; one result per
        change, in order (the error a change met, instead of raising, so the journal can
        record each). Called only when ``batches`` is true; the engine journals every
        change as intended before the call, and records each outcome when ``on_result``
        hears of it: call it for every change as soon as the vendor answered for it (not
        after the whole batch), so a kill loses at most the answers in flight. Same crash
        safety as ``apply``; a refused credential may raise."""
        ...

    def owned_objects(self) -> Mapping[str, OwnedObject] | None:
        """After ``observe``: change key -> what observe found carrying converge's marker
        for this project, or None when the system cannot tell (the default). The engine
        settles a killed run's open intents against it before the diff (a create found
        becomes managed, a delete whose object is gone is confirmed), so the journal's
        managed objects match what the vendor holds with the marker."""
        ...

    def summary(self) -> Mapping[str, Any]:
        """JSON-ready facts for the CLI's closing lines after the writes (Supabase: JWT
        expiry, whether RLS covers every table). Never a secret; empty when there is none."""
        ...

    def close(self) -> None:
        """Release what the reconciler holds (its HTTP connections). Idempotent."""
        ...


class BaseReconciler(ABC):
    """The defaults of ``SystemReconciler``'s optional hooks (as octodns' BaseProvider):
    a vendor package subclasses it and fills ``desired_keys``, ``observe``, ``diff`` and
    ``apply``; it overrides ``notes``, ``summary``, ``apply_batch`` (with ``batches =
    True``) and ``close`` only when it has something to say or to batch."""

    system: str
    batches: bool = False

    @abstractmethod
    def desired_keys(self) -> frozenset[str]:
        """See ``SystemReconciler.desired_keys``."""

    @abstractmethod
    def observe(self, *, markers: Mapping[str, str]) -> None:
        """See ``SystemReconciler.observe``."""

    @abstractmethod
    def diff(self) -> Sequence[Change]:
        """See ``SystemReconciler.diff``."""

    @property
    def notes(self) -> Sequence[Note]:
        """Nothing unverifiable by default."""
        return ()

    @abstractmethod
    def apply(self, change: Change) -> AppliedChange:
        """See ``SystemReconciler.apply``."""

    def apply_batch(
        self, changes: Sequence[Change], *, on_result: ResultSink | None = None
    ) -> Sequence[BatchResult]:
        """One ``apply`` after the other, each result reported as it comes; after the first
        error, the remaining changes are not attempted (each gets a ConvergeError saying
        so)."""
        results: list[BatchResult] = []
        failed: ConvergeError | None = None
        for index, change in enumerate(changes):
            result: BatchResult
            if failed is not None:
                result = ConvergeError(f"{change.key} not attempted: {failed.message}")
            else:
                try:
                    result = self.apply(change)
                except ConvergeError as exc:
                    failed = exc
                    result = exc
            results.append(result)
            if on_result is not None:
                on_result(index, result)
        return results

    def owned_objects(self) -> Mapping[str, OwnedObject] | None:
        """Cannot tell by default (the engine then leaves open intents to a later run)."""
        return None

    def summary(self) -> Mapping[str, Any]:
        """No closing facts by default."""
        return {}

    def close(self) -> None:
        """Nothing to release by default."""
        return None


class ReferenceResolver(Protocol):
    """Turns a reference into the value to send to a vendor, at apply time only."""

    def resolve(self, ref: str, *, mint: bool = False) -> str:
        """``identity/<name>/client-id``, ``identity/<name>/client-secret`` (minted when
        ``mint`` is true: a new Universal Auth client secret), or ``secret/<env>/<path>/<NAME>``
        (read from Infisical). The value is never logged or stored."""
        ...

    def stamp(self, ref: str) -> str | None:
        """A non-secret marker that changes whenever ``ref``'s value changes, found with
        list calls only (no per-object read), or None when there is none. Fingerprints
        built on it detect a changed value without reading the value at plan time."""
        ...

    def minted_id(self, ref: str) -> str | None:
        """The vendor id of the credential last minted for ``ref`` in this run (None when
        nothing was minted): what the variable's marker records it holds."""
        ...

    def release(self, ref: str, credential_id: str, *, reason: str) -> None:
        """The credential ``credential_id`` of ``ref`` is held no more (its holder now has
        a new one, or is gone): schedule its revocation (a pending revocation, due at the
        end of the grace period). Never revokes anything converge did not mint."""
        ...


@dataclass(frozen=True)
class CredentialRef:
    """A credential converge delivers (an Infisical client secret): what names and revokes
    it, never its value."""

    system: str  # "infisical"
    kind: str  # "client-secret"
    parent_id: str  # what it belongs to: the identity's id
    parent_name: str  # token-service@journal-prod
    credential_id: str  # the vendor's id of the credential


@dataclass(frozen=True)
class IssuedCredential:
    """A credential as the vendor lists it: ``minted_here`` when its description says this
    converge project minted it (so converge may revoke it), ``nonce`` the mint nonce in it."""

    ref: CredentialRef
    minted_here: bool
    nonce: str | None
    revoked: bool


class CredentialLedger(Protocol):
    """Where minted credentials are journaled (the engine's journal, bound to the apply
    run): the intent before the create, the id after it, and each revocation owed."""

    def mint_started(self, *, system: str, kind: str, parent_id: str, parent_name: str) -> str:
        """Journal the intent to mint; return its unique nonce for the description."""
        ...

    def mint_answered(self, nonce: str, credential_id: str) -> None:
        """The create answered with ``credential_id``."""
        ...

    def revocation_due(
        self, credential: CredentialRef, *, reason: str, nonce: str | None = None
    ) -> None:
        """``credential`` must be revoked (now, or after the grace period): a pending
        revocation. ``nonce``: the mint it came from, when its answer was lost."""
        ...

    def revoked(self, credential: CredentialRef) -> None:
        """``credential`` is revoked."""
        ...


class CredentialIssuer(Protocol):
    """Lists and revokes the credentials converge delivers (Infisical client secrets)."""

    def issued(self, parents: Collection[str]) -> Sequence[IssuedCredential]:
        """Every credential of the ``parents`` (identity full names) that exist, live or
        revoked; a parent that does not exist has none."""
        ...

    def revoke(self, credential: CredentialRef) -> None:
        """Revoke ``credential`` (already revoked or gone is fine)."""
        ...


@dataclass(frozen=True)
class Publication:
    """A value one system wants published as a variable of another (the Supabase URL or
    anon key as a Vercel variable). ``value`` is left out of ``repr``."""

    key: str
    value: str = field(repr=False)
    targets: tuple[str, ...]
    sensitive: bool = False


PublishedStatus = Literal["missing", "in_sync", "differs", "unverifiable"]


@dataclass(frozen=True)
class PublishedState:
    """How what is published compares with a ``Publication``, with the reason people
    read (``differs``: why it is sent again; ``unverifiable``: why it cannot be told)."""

    status: PublishedStatus
    reason: str = ""


class VariablePublisher(Protocol):
    """Publishes values from one system as Vercel variables (Supabase URL and anon key)."""

    def compare(self, wanted: Sequence[Publication]) -> Mapping[str, PublishedState]:
        """Per key of ``wanted``, how the variable converge published compares with it,
        from what the vendor holds alone (its marker and keyed fingerprint, or the value
        itself when the vendor shows it): one read for all of them, no write."""
        ...

    def publish(self, key: str, value: str, *, targets: Sequence[str], sensitive: bool) -> str:
        """Create or update the variable; return its new fingerprint."""
        ...
