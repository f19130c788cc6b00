"""Desired Infisical objects + what observe found → the changes to make (pure).

Stages (architecture §6): roles (0) → identities with their universal auth (1) → bindings (2);
deletions run in reverse. Ownership: a role is managed when its description ends with
``[managed by converge: <org>/<project>]``, an identity when its metadata holds
``converge.managed-by = <org>/<project>``, a binding when both its identity and its role
are managed. Only managed objects are deleted; an unmanaged object where a desired one
should be is a ``conflict`` (or, with ``adopt`` or the object's own ``adopt`` flag from
project.yaml's ``adopt:``, an ``adopt`` that takes it over).
Built-in roles are never touched.

Each change's ``desired`` holds the payload apply sends (no secrets exist at this level)
plus ``digest``, the hash that goes into the change marker apply returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from converge.changes import Action, Change, FieldDiff, change_key
from converge.desired import DesiredBinding, DesiredIdentity, DesiredRole
from converge.vendors.infisical.normalise import (
    BUILT_IN_ROLES,
    UA_FIELDS,
    change_marker,
    digest,
    managed_description,
    normalise_rules,
    normalise_universal_auth,
    permission_to_wire,
    role_is_managed,
    role_marker,
    role_short_name,
)
from converge.vendors.infisical.observed import (
    OWNER_METADATA_KEY,
    ObservedIdentity,
    ObservedRole,
    ObservedState,
)

SYSTEM = "infisical"
ROLE_STAGE, IDENTITY_STAGE, BINDING_STAGE = 0, 1, 2


def role_key(slug: str) -> str:
    return change_key(SYSTEM, "role", slug)


def identity_key(name: str) -> str:
    return change_key(SYSTEM, "identity", name)


def desired_keys(
    roles: Sequence[DesiredRole],
    identities: Sequence[DesiredIdentity],
    bindings: Sequence[DesiredBinding],
) -> frozenset[str]:
    """The change keys of the declared roles (by slug), identities and bindings."""
    return frozenset(
        [role_key(r.slug) for r in roles]
        + [identity_key(i.name) for i in identities]
        + [change_key(SYSTEM, "binding", b.name) for b in bindings]
    )


def role_payload(role: DesiredRole, owner: str) -> dict[str, Any]:
    """The create/update body of a managed role, plus its digest."""
    body: dict[str, Any] = {
        "slug": role.slug,
        "name": role.display,
        "description": managed_description(role.description, owner),
        "permissions": [permission_to_wire(p) for p in role.permissions],
    }
    body["digest"] = digest({**body, "permissions": normalise_rules(body["permissions"])})
    return body


def identity_payload(identity: DesiredIdentity, owner: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": identity.name,
        "owner": owner,
        "universalAuth": normalise_universal_auth(identity.universal_auth),
    }
    body["digest"] = digest(body)
    return body


def binding_detail(identity: str, role: str) -> str:
    return f"Identity: {identity} -> Role: {role}"


def _role_changes(
    role: DesiredRole, observed: ObservedRole | None, *, owner: str, adopt: bool,
    markers: Mapping[str, str],
) -> Change | None:
    payload = role_payload(role, owner)
    base: dict[str, Any] = {"system": SYSTEM, "kind": "role", "name": role.slug,
                            "stage": ROLE_STAGE, "label": role.display, "desired": payload}
    if role.slug in BUILT_IN_ROLES:
        return Change(action=Action.CONFLICT, reason=f"{role.slug} is a built-in Infisical "
                      "role slug; rename the role", **base)
    if observed is None:
        wanted = normalise_rules(payload["permissions"])
        return Change(action=Action.CREATE, diffs=(
            FieldDiff("name", None, payload["name"]),
            FieldDiff("description", None, payload["description"]),
            FieldDiff("permissions", None, wanted)), **base)
    managed = role_is_managed(observed.description, owner)
    if managed and markers.get(role_key(role.slug)) == change_marker(
        observed.updated_at, payload["digest"]
    ):
        return None
    if managed and observed.permissions is None:
        return None  # not read: nothing known to differ
    diffs: list[FieldDiff] = []
    if observed.name != payload["name"]:
        diffs.append(FieldDiff("name", observed.name, payload["name"]))
    if (observed.description or "") != payload["description"]:
        diffs.append(FieldDiff("description", observed.description, payload["description"]))
    have = normalise_rules(observed.permissions or ())
    want = normalise_rules(payload["permissions"])
    if have != want:
        diffs.append(FieldDiff("permissions", have, want))
    if not managed:
        if adopt:
            return Change(action=Action.ADOPT, diffs=tuple(diffs), current_id=observed.id,
                          reason="adopting an existing role of that slug", **base)
        return Change(
            action=Action.CONFLICT, current_id=observed.id, diffs=tuple(diffs),
            reason=(f"role {role.slug} exists but is not managed by converge (its description "
                    f"lacks {role_marker(owner)!r}); list role/{role.slug} under adopt: in "
                    "project.yaml (or pass --adopt) to take it over, or remove it"), **base)
    if diffs:
        return Change(action=Action.UPDATE, diffs=tuple(diffs), current_id=observed.id, **base)
    return None


def _pick(candidates: Sequence[ObservedIdentity], owner: str, key: str, want_digest: str,
          markers: Mapping[str, str]) -> ObservedIdentity:
    for c in candidates:
        if markers.get(key) == change_marker(c.updated_at, want_digest):
            return c
    for c in candidates:
        if c.owner() == owner:
            return c
    return candidates[0]


def _identity_change(
    identity: DesiredIdentity, candidates: Sequence[ObservedIdentity], *, owner: str,
    adopt: bool, markers: Mapping[str, str],
) -> tuple[Change | None, ObservedIdentity | None, bool]:
    """The change for one desired identity, the observed one it maps to, and whether that
    one is (or is about to be) managed."""
    payload = identity_payload(identity, owner)
    key = identity_key(identity.name)
    base: dict[str, Any] = {"system": SYSTEM, "kind": "identity", "name": identity.name,
                            "stage": IDENTITY_STAGE,
                            "label": f"{identity.name} ({identity.environment})"}
    want_ua = payload["universalAuth"]
    if not candidates:
        created = [FieldDiff(f"metadata.{OWNER_METADATA_KEY}", None, owner)]
        created += [FieldDiff(f"universalAuth.{f}", None, want_ua[f]) for f in UA_FIELDS]
        new = {**payload, "metadata": [{"key": OWNER_METADATA_KEY, "value": owner}],
               "attach": True}
        return Change(action=Action.CREATE, diffs=tuple(created), desired=new, **base), None, True
    observed = _pick(candidates, owner, key, payload["digest"], markers)
    if markers.get(key) == change_marker(observed.updated_at, payload["digest"]):
        return None, observed, True
    if observed.metadata is None:
        return None, observed, True  # not read: nothing known to differ
    managed = observed.owner() == owner
    diffs: list[FieldDiff] = []
    have_ua = observed.universal_auth
    for f in UA_FIELDS:
        before = have_ua[f] if have_ua is not None else None
        if before != want_ua[f]:
            diffs.append(FieldDiff(f"universalAuth.{f}", before, want_ua[f]))
    metadata = [{"key": k, "value": v} for k, v in observed.metadata if k != OWNER_METADATA_KEY]
    metadata.append({"key": OWNER_METADATA_KEY, "value": owner})
    desired = {**payload, "metadata": metadata, "attach": have_ua is None,
               "updatedAt": observed.updated_at}
    if not managed:
        diffs.insert(0, FieldDiff(f"metadata.{OWNER_METADATA_KEY}", observed.owner(), owner))
        if adopt:
            return (Change(action=Action.ADOPT, diffs=tuple(diffs), desired=desired,
                           current_id=observed.id,
                           reason="adopting an existing identity of that name", **base),
                    observed, True)
        reason = (f"identity {identity.name} exists but is not managed by converge (its "
                  f"metadata lacks {OWNER_METADATA_KEY}={owner}); list identity/{identity.name} "
                  "under adopt: in project.yaml (or pass --adopt) to take it over, or rename "
                  "or remove it")
        return (Change(action=Action.CONFLICT, diffs=tuple(diffs), desired=desired,
                       current_id=observed.id, reason=reason, **base), observed, False)
    if diffs:
        return (Change(action=Action.UPDATE, diffs=tuple(diffs), desired=desired,
                       current_id=observed.id, **base), observed, True)
    return None, observed, True


def diff_infisical(
    *,
    roles: Sequence[DesiredRole],
    identities: Sequence[DesiredIdentity],
    bindings: Sequence[DesiredBinding],
    observed: ObservedState,
    owner: str,
    adopt: bool = False,
) -> list[Change]:
    """Every change that brings Infisical to the desired state (unordered; the engine
    orders them with ``order_changes``)."""
    changes: list[Change] = []
    markers = observed.markers
    roles_by_slug = {r.slug: r for r in observed.roles}
    for role in roles:
        change = _role_changes(role, roles_by_slug.get(role.slug), owner=owner,
                               adopt=adopt or role.adopt, markers=markers)
        if change is not None:
            changes.append(change)
    wanted_slugs = {r.slug for r in roles}
    managed_roles = {r.slug: r for r in observed.roles
                     if r.slug not in BUILT_IN_ROLES and role_is_managed(r.description, owner)}
    for slug, role_obs in sorted(managed_roles.items()):
        if slug not in wanted_slugs:
            changes.append(Change(system=SYSTEM, kind="role", name=slug, action=Action.DELETE,
                                  stage=ROLE_STAGE, current_id=role_obs.id,
                                  desired={"slug": slug}, label=role_obs.name or slug))

    # identities: status per desired name; managed ids for binding ownership
    status: dict[str, tuple[str | None, bool]] = {}
    managed_ids: set[str] = set()
    for identity in identities:
        candidates = [o for o in observed.identities if o.name == identity.name]
        change, obs, managed = _identity_change(identity, candidates, owner=owner,
                                                adopt=adopt or identity.adopt, markers=markers)
        if change is not None:
            changes.append(change)
        status[identity.name] = (obs.id if obs else None, managed)
        if obs is not None and managed:
            managed_ids.add(obs.id)
    wanted_names = {i.name for i in identities}
    for obs in observed.identities:
        if obs.name in wanted_names or obs.metadata is None or obs.owner() != owner:
            continue
        managed_ids.add(obs.id)
        changes.append(Change(system=SYSTEM, kind="identity", name=obs.name,
                              action=Action.DELETE, stage=IDENTITY_STAGE, current_id=obs.id,
                              desired={"name": obs.name}, label=obs.name))

    # bindings: one role assignment inside the identity's project membership
    memberships = {m.identity_id: m for m in observed.memberships}
    for binding in bindings:
        identity_id, managed = status.get(binding.identity, (None, True))
        membership = memberships.get(identity_id) if identity_id else None
        have = sorted(membership.role_slugs) if membership else []
        if binding.role_slug in have:
            continue
        base: dict[str, Any] = {
            "system": SYSTEM, "kind": "binding", "name": binding.name, "stage": BINDING_STAGE,
            "label": binding.name, "detail": binding_detail(binding.identity, binding.role),
            "current_id": identity_id,
            "desired": {"identity": binding.identity, "role": binding.role,
                        "roleSlug": binding.role_slug},
        }
        roles_diff = (FieldDiff("roles", have, sorted({*have, binding.role_slug})),)
        if not managed:
            changes.append(Change(action=Action.CONFLICT, diffs=roles_diff, reason=(
                f"identity {binding.identity} is not managed by converge; adopt it first"),
                **base))
        else:
            changes.append(Change(action=Action.CREATE, diffs=roles_diff, **base))
    wanted_pairs = {(b.identity, b.role_slug) for b in bindings}
    for membership in observed.memberships:
        if membership.identity_id not in managed_ids:
            continue
        for slug in membership.role_slugs:
            held = managed_roles.get(slug)
            if held is None or (membership.identity_name, slug) in wanted_pairs:
                continue
            short_role = role_short_name(held.name, slug)
            short_identity = membership.identity_name.split("@", 1)[0]
            left = sorted(s for s in membership.role_slugs if s != slug)
            changes.append(Change(
                system=SYSTEM, kind="binding", name=f"{short_identity}-{short_role}-binding",
                action=Action.DELETE, stage=BINDING_STAGE, current_id=membership.identity_id,
                diffs=(FieldDiff("roles", sorted(membership.role_slugs), left),),
                desired={"identity": membership.identity_name, "role": short_role,
                         "roleSlug": slug},
                label=f"{short_identity}-{short_role}-binding",
                detail=binding_detail(membership.identity_name, short_role)))
    return changes
