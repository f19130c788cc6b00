"""The hooks a vendor package fills for the engine (DESIGN §6, STYLE "engine owns the workflow").

Each vendor package (``vendors/infisical``, ``vendors/vercel``, ``vendors/supabase``) offers a
``SystemReconciler``: the engine calls ``observe`` (I/O, list calls only), then ``diff``
(pure), then ``apply`` once per change in the plan's order, journaling before and after
each call. Vendor packages never import each other: what one needs from another (a client
secret minted in Infisical for a Vercel variable, a Supabase anon key published to Vercel)
arrives through the small capability protocols below, which the engine wires together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from converge.changes import Change


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


class SystemReconciler(Protocol):
    """One vendor system of one project."""

    system: str

    def observe(self, *, markers: Mapping[str, str]) -> None:
        """Read the live state with list calls (one per kind of object). ``markers`` maps a
        change key to the change marker the journal recorded at the last apply, so objects
        whose marker did not move need not be read one by one. Idempotent."""

    def diff(self) -> Sequence[Change]:
        """Pure: the changes that bring the observed state to the desired state. An empty
        result right after a successful apply (normalisation on both sides)."""

    def apply(self, change: Change) -> AppliedChange:
        """Perform one change. Must be safe to call again after a crash: a create first
        looks for an object it may already have made. Raises a ConvergeError on failure."""

    def close(self) -> None:
        """Release HTTP connections."""


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


class VariablePublisher(Protocol):
    """Publishes values from one system as Vercel variables (Supabase URL and anon key)."""

    def published(self) -> Mapping[str, str | None]:
        """Key -> fingerprint (or None) of the variables converge published before."""
        ...

    def publish(self, key: str, value: str, *, targets: Sequence[str], sensitive: bool) -> str:
        """Create or update the variable; return its new fingerprint."""
        ...
