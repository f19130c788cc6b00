"""``VercelPublisher``: how another reconciler (Supabase) publishes values as Vercel vars.

The Supabase reconciler must not import this package; the engine builds a publisher for
the project's Vercel project and hands it over as a ``VariablePublisher``. Variables it
writes carry the marker with ``owner=supabase``, so the Vercel reconciler neither deletes
them nor treats them as its own, and the publisher never touches anything it did not
write: an unmanaged variable in the way is a ``VendorConflictError``.

``NEXT_PUBLIC_*`` values are sent as ``plain`` after the outbound secret check; anything
else as ``sensitive`` (``encrypted`` where a target is development, which Vercel refuses
for sensitive values).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from converge.errors import ConvergeError, VendorConflictError
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
from converge.vendors.vercel.ownership import fingerprint

PUBLIC_PREFIX = "NEXT_PUBLIC_"


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

    def _intact(self, record: ObservedVariable) -> bool:
        """False when a readable (``plain``) value no longer matches the fingerprint in its
        comment: someone replaced the value by hand and left the comment alone."""
        if record.value is None or record.ownership is None:
            return True
        return record.ownership.fp == fingerprint(
            self.fingerprint_key, project=self.project, key=record.key,
            targets=record.targets, value=record.value,
        )

    def published(self) -> Mapping[str, str | None]:
        """Key -> fingerprint of every variable this publisher wrote (one list call);
        ``None`` for one whose readable value was replaced outside converge."""
        return {
            r.key: (r.ownership.fp or None) if r.ownership and self._intact(r) else None
            for r in observe_variables(self.client, self.scope)
            if self._ours(r)
        }

    def fingerprint_of(self, key: str, value: str, *, targets: Sequence[str]) -> str:
        """The keyed fingerprint ``publish`` writes for ``value`` on ``targets``."""
        return fingerprint(self.fingerprint_key, project=self.project, key=key,
                           targets=sorted(set(targets)), value=value)

    def publish(self, key: str, value: str, *, targets: Sequence[str], sensitive: bool) -> str:
        """Create or update ``key`` on exactly ``targets``; a no-op when the fingerprint
        already matches. Returns the keyed fingerprint of ``value``."""
        public = key.startswith(PUBLIC_PREFIX) and not sensitive
        if public:
            check_public_value(key, value, self.public_value_check)
        env_type = "plain" if public else (
            "encrypted" if "development" in targets else "sensitive")
        wanted = sorted(set(targets))
        fp = self.fingerprint_of(key, value, targets=wanted)
        overlapping = [
            r for r in observe_variables(self.client, self.scope)
            if r.key == key and r.general and set(r.targets) & set(wanted)
        ]
        foreign = [r for r in overlapping if not self._ours(r)]
        if foreign:
            raise VendorConflictError(
                f"vercel already has {key} ({', '.join(foreign[0].targets)}), not published "
                "by converge",
                vendor=VENDOR, hint=f"remove {key} in Vercel or stop publishing it",
            )
        exact = [r for r in overlapping if list(r.targets) == wanted]
        if exact and exact[0].type == env_type and exact[0].ownership is not None and (
            exact[0].ownership.fp == fp
        ) and self._intact(exact[0]):
            return fp
        ctx = self._context()
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

