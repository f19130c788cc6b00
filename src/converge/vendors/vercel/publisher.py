"""``VercelPublisher``: how another reconciler (Supabase) publishes values as Vercel vars.

The Supabase reconciler must not import this package; the engine builds a publisher for
the project's Vercel project and hands it over as a ``VariablePublisher``. Variables it
writes carry the marker with ``owner=supabase``, so the Vercel reconciler neither deletes
them nor treats them as its own, and the publisher never touches anything it did not
write: an unmanaged variable in the way is a ``VendorConflictError``.

``NEXT_PUBLIC_*`` values are sent as ``plain`` after the outbound secret check; anything
else as ``sensitive`` (``encrypted`` where a target is development, which Vercel refuses
for sensitive values).

``compare`` tells from the vendor alone whether a published value is current: a
``plain`` value by itself (Vercel shows it), any other by the keyed fingerprint in its
marker, which a run under another fingerprint key reports as unverifiable. Nothing of it
depends on the local journal, so a fresh clone with the team's key sees no change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from converge.errors import ConvergeError, VendorConflictError
from converge.util.keyid import key_id
from converge.vendors.base import Publication, PublishedState
from converge.vendors.vercel.apply import (
    ApplyContext,
    PublicValueCheck,
    build_item,
    check_public_value,
    delete_confirmed,
    send_items,
)
from converge.vendors.vercel.client import VENDOR, ProjectScope, VercelClient
from converge.vendors.vercel.observe import ObservedVariable, observe_variables
from converge.vendors.vercel.ownership import fingerprint, key_differs_reason

PUBLIC_PREFIX = "NEXT_PUBLIC_"
OUT_OF_DATE = "the published value is out of date"
NO_KEY_ID = (
    "the published value is out of date, or was fingerprinted with another key before "
    "fingerprint key ids (the marker has none)"
)


def env_type_for(key: str, targets: Sequence[str], *, sensitive: bool) -> str:
    """The Vercel type a published value is sent as (see the module doc)."""
    if key.startswith(PUBLIC_PREFIX) and not sensitive:
        return "plain"
    return "encrypted" if "development" in targets else "sensitive"


class VercelPublisher:
    """A ``VariablePublisher`` writing managed variables into one Vercel project."""

    def __init__(
        self,
        client: VercelClient,
        *,
        scope: ProjectScope,
        project: str,
        fingerprint_key: bytes,
        public_value_check: PublicValueCheck,
        owner: str = "supabase",
    ):
        self.client = client
        self.scope = scope
        self.project = project
        self.owner = owner
        self.fingerprint_key = fingerprint_key
        self.public_value_check = public_value_check
        self._ctx: ApplyContext | None = None

    def _context(self) -> ApplyContext:
        if self._ctx is None:
            scope = ProjectScope(self.scope.team, self.client.project_id(self.scope))
            self._ctx = ApplyContext(
                client=self.client, scope=scope, project=self.project, owner=self.owner,
                resolver=None, fingerprint_key=self.fingerprint_key,
                public_value_check=self.public_value_check,
            )
        return self._ctx

    def _ours(self, record: ObservedVariable) -> bool:
        return record.ownership is not None and record.ownership.owned_by(
            self.owner, self.project
        )

    def _fingerprint(self, key: str, targets: Sequence[str], value: str) -> str:
        return fingerprint(self.fingerprint_key, project=self.project, key=key,
                           targets=sorted(set(targets)), value=value)

    def _overlapping(
        self, records: Sequence[ObservedVariable], key: str, targets: Sequence[str]
    ) -> list[ObservedVariable]:
        return [r for r in records
                if r.key == key and r.general and set(r.targets) & set(targets)]

    def _state(self, wanted: Publication, overlapping: Sequence[ObservedVariable]
               ) -> PublishedState:
        """How the records at ``wanted``'s key and targets compare with it (no I/O)."""
        mine = [r for r in overlapping if self._ours(r)]
        if not mine:
            return PublishedState("missing", "not published yet")
        targets = sorted(set(wanted.targets))
        record = mine[0]
        if len(overlapping) > 1 or list(record.targets) != targets:
            return PublishedState("differs", "published to other targets")
        env_type = env_type_for(wanted.key, targets, sensitive=wanted.sensitive)
        if record.type != env_type:
            return PublishedState("differs", f"published as {record.type}, not {env_type}")
        if record.value is not None:  # plain: Vercel shows it, so compare it as it is
            same = record.value == wanted.value
            return PublishedState("in_sync") if same else PublishedState("differs", OUT_OF_DATE)
        own = record.ownership
        assert own is not None
        run_key = key_id(self.fingerprint_key)
        if own.key_differs(run_key):
            return PublishedState("unverifiable", key_differs_reason(own.kid, run_key))
        if own.fp == self._fingerprint(wanted.key, targets, wanted.value):
            return PublishedState("in_sync")
        return PublishedState("differs", OUT_OF_DATE if own.kid else NO_KEY_ID)

    def compare(self, wanted: Sequence[Publication]) -> Mapping[str, PublishedState]:
        """Per wanted key, how what this publisher wrote compares with it (one list call;
        see the module doc)."""
        records = observe_variables(self.client, self.scope)
        return {
            item.key: self._state(item, self._overlapping(records, item.key, item.targets))
            for item in wanted
        }

    def publish(self, key: str, value: str, *, targets: Sequence[str], sensitive: bool) -> str:
        """Create or update ``key`` on exactly ``targets``; a no-op when what is published
        already matches (``compare``). Returns the keyed fingerprint of ``value``."""
        env_type = env_type_for(key, targets, sensitive=sensitive)
        if env_type == "plain":
            check_public_value(key, value, self.public_value_check)
        wanted = sorted(set(targets))
        fp = self._fingerprint(key, wanted, value)
        overlapping = self._overlapping(observe_variables(self.client, self.scope), key, wanted)
        foreign = [r for r in overlapping if not self._ours(r)]
        if foreign:
            raise VendorConflictError(
                f"vercel already has {key} ({', '.join(foreign[0].targets)}), not published "
                "by converge",
                vendor=VENDOR, hint=f"remove {key} in Vercel or stop publishing it",
            )
        item_wanted = Publication(key, value, tuple(wanted), sensitive)
        if self._state(item_wanted, overlapping).status == "in_sync":
            return fp
        ctx = self._context()
        exact = [r for r in overlapping if list(r.targets) == wanted]
        upsert = bool(exact) and exact[0].type == env_type and len(overlapping) == 1
        if not upsert:
            for record in overlapping:
                delete_confirmed(ctx, record.id)
        desired = {"key": key, "targets": wanted, "type": env_type, "rotate": 0}
        item = build_item(ctx, desired, value)
        outcome = send_items(ctx, [item], upsert=upsert)[0]
        if isinstance(outcome, ConvergeError):
            raise outcome
        return item.fp
