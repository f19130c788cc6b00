"""One planned Infisical change → the vendor calls that perform it (I/O).

Each write is safe to run again after a crash: creates pass a ``reobserve`` to the HTTP
layer (a create whose answer was lost is found by name or slug instead of being sent
twice), binding writes read the membership first and only add or remove their own role,
and deletes are confirmed by reading the object back (404) before they return (architecture §6
two-phase delete: the engine journals the intent before and the confirmation after).
"""

from __future__ import annotations

from collections.abc import MutableMapping

from converge.changes import Action, Change
from converge.errors import ConvergeError, VendorConflictError, VendorError
from converge.vendors.base import AppliedChange
from converge.vendors.infisical import wire
from converge.vendors.infisical.client import VENDOR, InfisicalClient
from converge.vendors.infisical.normalise import (
    change_marker,
    role_is_managed,
    universal_auth_to_wire,
)
from converge.vendors.infisical.observed import OWNER_METADATA_KEY


class InfisicalApplier:
    """Performs changes in one Infisical project; remembers identity ids it learns."""

    def __init__(
        self, client: InfisicalClient, project: wire.Project, *, owner: str,
        identity_ids: MutableMapping[str, str],
    ):
        self.client = client
        self.project = project
        self.owner = owner
        self.identity_ids = identity_ids

    def apply(self, change: Change) -> AppliedChange:
        if not change.action.writes:
            raise ConvergeError(f"{change.key} is a conflict and cannot be applied",
                                hint=change.reason)
        handler = {"role": self._role, "identity": self._identity,
                   "binding": self._binding}.get(change.kind)
        if handler is None:
            raise ConvergeError(f"unknown Infisical change kind {change.kind!r}")
        return handler(change)

    # -- roles ------------------------------------------------------------------------
    def _role(self, change: Change) -> AppliedChange:
        desired = change.desired
        if change.action is Action.DELETE:
            if change.current_id:
                self.client.delete_role(self.project.id, change.current_id)
            if self.client.get_role(self.project.id, str(desired["slug"])) is not None:
                raise self._still_there(f"role {desired['slug']}")
            return AppliedChange(vendor_id=change.current_id, note="deleted")
        body = {k: desired[k] for k in ("slug", "name", "description", "permissions")}
        if change.action is Action.CREATE:
            existing = self.client.get_role(self.project.id, str(desired["slug"]))
            if existing is None:
                role = self.client.create_role(self.project.id, body)
            elif role_is_managed(existing.description, self.owner):  # made by a killed run
                role = self.client.update_role(self.project.id, existing.id, body)
            else:
                raise self._in_the_way(f"role {desired['slug']}")
        else:
            role_id = change.current_id or self._role_id(str(desired["slug"]))
            role = self.client.update_role(self.project.id, role_id, body)
        return AppliedChange(vendor_id=role.id,
                             marker=change_marker(role.updatedAt, str(desired["digest"])))

    def _role_id(self, slug: str) -> str:
        role = self.client.get_role(self.project.id, slug)
        if role is None:
            raise VendorError(f"infisical has no role {slug} in project {self.project.slug}",
                              vendor=VENDOR, hint="run plan again")
        return role.id

    # -- identities ------------------------------------------------------------------------
    def _is_ours(self, identity: wire.OrgIdentity) -> bool:
        return any(m.key == OWNER_METADATA_KEY and m.value == self.owner
                   for m in identity.metadata or [])

    def _identity(self, change: Change) -> AppliedChange:
        desired = change.desired
        if change.action is Action.DELETE:
            identity_id = change.current_id or ""
            self.client.delete_identity(identity_id)
            if self.client.get_identity(identity_id) is not None:
                raise self._still_there(f"identity {change.name}")
            self.identity_ids.pop(change.name, None)
            return AppliedChange(vendor_id=identity_id, note="deleted")
        settings = universal_auth_to_wire(desired["universalAuth"])
        metadata = [dict(m) for m in desired["metadata"]]
        updated_at: str | None = None
        if change.action is Action.CREATE:
            found = self._find_identity(change.name)  # made by a killed run?
            if found is None:
                row = self.client.create_identity(name=change.name, org_id=self.project.orgId,
                                                  metadata=metadata, is_ours=self._is_ours)
                identity_id, updated_at = row.id, row.updatedAt
                self.client.attach_universal_auth(identity_id, settings)
            elif self._is_ours(found):
                identity_id = found.identity.id
                if self.client.get_universal_auth(identity_id) is None:
                    self.client.attach_universal_auth(identity_id, settings)
                else:
                    self.client.update_universal_auth(identity_id, settings)
            else:
                raise self._in_the_way(f"identity {change.name}")
        else:
            identity_id = change.current_id or ""
            fields = {d.field for d in change.diffs}
            if change.action is Action.ADOPT or any(f.startswith("metadata.") for f in fields):
                updated_at = self.client.update_identity(identity_id, metadata=metadata).updatedAt
            if desired.get("attach"):
                self.client.attach_universal_auth(identity_id, settings)
            elif any(f.startswith("universalAuth.") for f in fields):
                self.client.update_universal_auth(identity_id, settings)
        self.identity_ids[change.name] = identity_id
        if updated_at is None:
            detail = self.client.get_identity(identity_id)
            updated_at = detail.updatedAt if detail is not None else ""
        return AppliedChange(vendor_id=identity_id,
                             marker=change_marker(updated_at, str(desired["digest"])))

    def _find_identity(self, name: str) -> wire.OrgIdentity | None:
        """The identity called ``name``, preferring the one converge manages."""
        found: wire.OrgIdentity | None = None
        for row in self.client.list_identities(self.project.orgId):
            if row.identity.name != name:
                continue
            detail = self.client.get_identity(row.identity.id)
            if detail is not None and self._is_ours(detail):
                return detail
            found = found or detail
        return found

    def identity_id(self, name: str) -> str:
        """The id of the managed identity called ``name`` (from this run, or looked up)."""
        if name in self.identity_ids:
            return self.identity_ids[name]
        found = self._find_identity(name)
        if found is not None and self._is_ours(found):
            self.identity_ids[name] = found.identity.id
            return found.identity.id
        raise VendorError(f"infisical has no identity {name} managed by converge",
                          vendor=VENDOR, hint="apply the identity first (run apply again)")

    # -- bindings --------------------------------------------------------------------------
    def _binding(self, change: Change) -> AppliedChange:
        desired = change.desired
        slug = str(desired["roleSlug"])
        identity_id = change.current_id or self.identity_id(str(desired["identity"]))
        membership = self.client.get_membership(self.project.id, identity_id)
        have = membership.role_slugs() if membership is not None else []
        if change.action is Action.DELETE:
            if slug in have:
                left = [s for s in have if s != slug]
                if left:
                    self.client.update_membership(self.project.id, identity_id, left)
                else:
                    self.client.delete_membership(self.project.id, identity_id)
            after = self.client.get_membership(self.project.id, identity_id)
            if after is not None and slug in after.role_slugs():
                raise self._still_there(f"binding {change.name}")
            return AppliedChange(vendor_id=identity_id, note="deleted")
        if membership is None:
            self.client.create_membership(self.project.id, identity_id, [slug])
        elif slug not in have:
            self.client.update_membership(self.project.id, identity_id, [*have, slug])
        return AppliedChange(vendor_id=identity_id)

    def _in_the_way(self, what: str) -> VendorConflictError:
        return VendorConflictError(
            f"infisical {what} appeared after the plan and is not managed by converge",
            vendor=VENDOR, hint="run plan again; adopt it with --adopt if it should be managed")

    def _still_there(self, what: str) -> VendorError:
        return VendorError(f"infisical still has {what} after deleting it", vendor=VENDOR,
                           hint="run apply again to retry the delete")

