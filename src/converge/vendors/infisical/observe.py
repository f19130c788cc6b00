"""Read Infisical's current state for one project: one list per kind, then only the reads
the lists cannot replace (I/O; no decisions beyond *what to read*).

Requests on a no-op plan: the project lookup by slug, then the roles, org identities and
project identity memberships lists (run concurrently). The lists lack role permissions,
identity metadata (the ownership marker) and universal-auth settings, so an object is
read one by one only when its change marker (``updatedAt`` + digest of the desired state,
see ``normalise.change_marker``) differs from the one the journal recorded, or when it is
a candidate for deletion (an identity converge recorded or that holds a managed role).
Those reads run concurrently on a small thread pool; every request is counted by
``VendorHttp``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from types import MappingProxyType
from typing import TypeVar

from converge.desired import DesiredIdentity, DesiredRole
from converge.vendors.infisical import wire
from converge.vendors.infisical.client import InfisicalClient
from converge.vendors.infisical.diff import identity_key, identity_payload, role_key, role_payload
from converge.vendors.infisical.normalise import (
    BUILT_IN_ROLES,
    change_marker,
    normalise_universal_auth,
    role_is_managed,
)
from converge.vendors.infisical.observed import (
    ObservedIdentity,
    ObservedMembership,
    ObservedRole,
    ObservedState,
)

POOL_SIZE = 4
T = TypeVar("T")
Read = wire.Role | wire.OrgIdentity | wire.UniversalAuth | None


def run_concurrently(tasks: Sequence[Callable[[], T]]) -> list[T]:
    """Run independent reads on a small pool; results in task order, first error raised."""
    if len(tasks) <= 1:
        return [task() for task in tasks]
    with ThreadPoolExecutor(max_workers=min(POOL_SIZE, len(tasks))) as pool:
        futures = [pool.submit(task) for task in tasks]
        return [f.result() for f in futures]


def _role(row: wire.Role, permissions: list[dict[str, object]] | None) -> ObservedRole:
    return ObservedRole(
        id=row.id, slug=row.slug, name=row.name, description=row.description or "",
        updated_at=row.updatedAt,
        permissions=tuple(permissions) if permissions is not None else None,
    )


def observe_infisical(
    client: InfisicalClient,
    project: wire.Project,
    *,
    roles: Sequence[DesiredRole],
    identities: Sequence[DesiredIdentity],
    owner: str,
    markers: Mapping[str, str],
) -> ObservedState:
    """Everything ``diff_infisical`` needs, with as few requests as the markers allow."""
    with ThreadPoolExecutor(max_workers=3) as pool:
        roles_future = pool.submit(client.list_roles, project.id)
        identities_future = pool.submit(client.list_identities, project.orgId)
        memberships_future = pool.submit(client.list_memberships, project.id)
        role_rows = roles_future.result()
        identity_rows = identities_future.result()
        membership_rows = memberships_future.result()
    roles_by_slug = {r.slug: r for r in role_rows}

    # roles whose permissions must be read
    role_reads: list[str] = []
    for role in roles:
        listed = roles_by_slug.get(role.slug)
        if listed is None or role.slug in BUILT_IN_ROLES:
            continue
        payload = role_payload(role, owner)
        trusted = role_is_managed(listed.description, owner) and markers.get(
            role_key(role.slug)) == change_marker(listed.updatedAt, payload["digest"])
        if not trusted:
            role_reads.append(role.slug)

    # identities whose metadata (and, for desired ones, universal auth) must be read
    wanted = {i.name: identity_payload(i, owner)["digest"] for i in identities}
    managed_role_slugs = {r.slug for r in role_rows if r.slug not in BUILT_IN_ROLES
                          and role_is_managed(r.description, owner)}
    holders = {m.identityId for m in membership_rows
               if set(m.role_slugs()) & managed_role_slugs}
    identity_reads: list[tuple[wire.OrgIdentity, bool]] = []
    for row in identity_rows:
        name = row.identity.name
        if name in wanted:
            if markers.get(identity_key(name)) != change_marker(row.updatedAt, wanted[name]):
                identity_reads.append((row, True))
        elif identity_key(name) in markers or row.identity.id in holders:
            identity_reads.append((row, False))

    tasks: list[Callable[[], Read]] = []
    for slug in role_reads:
        tasks.append(partial(client.get_role, project.id, slug))
    for row, with_ua in identity_reads:
        tasks.append(partial(client.get_identity, row.identity.id))
        if with_ua and "universal-auth" in row.identity.authMethods:
            tasks.append(partial(client.get_universal_auth, row.identity.id))
    results = run_concurrently(tasks)
    read_roles = {r.slug: r for r in results if isinstance(r, wire.Role)}
    read_identities = {i.identity.id: i for i in results if isinstance(i, wire.OrgIdentity)}
    read_ua = {u.identityId: u for u in results if isinstance(u, wire.UniversalAuth)}

    observed_roles = tuple(
        _role(row, read_roles[row.slug].permissions if row.slug in read_roles else None)
        for row in roles_by_slug.values()
    )
    observed_identities: list[ObservedIdentity] = []
    read_ids = {row.identity.id for row, _ in identity_reads}
    for row in identity_rows:
        identity_id = row.identity.id
        detail = read_identities.get(identity_id)
        if identity_id in read_ids and detail is None:
            continue  # deleted between the list and the read
        ua = read_ua.get(identity_id)
        observed_identities.append(ObservedIdentity(
            id=identity_id, name=row.identity.name, updated_at=row.updatedAt,
            metadata=(tuple((m.key, m.value) for m in detail.metadata or [])
                      if detail is not None else None),
            universal_auth=(MappingProxyType(normalise_universal_auth(ua.model_dump()))
                            if ua is not None else None),
            ua_read=detail is not None,
        ))
    names = {i.identity.id: i.identity.name for i in identity_rows}
    observed_memberships = tuple(
        ObservedMembership(
            identity_id=m.identityId,
            identity_name=names.get(m.identityId, m.identity.name if m.identity else ""),
            role_slugs=tuple(m.role_slugs()), updated_at=m.updatedAt,
        )
        for m in membership_rows
    )
    return ObservedState(
        project_id=project.id, org_id=project.orgId, roles=observed_roles,
        identities=tuple(observed_identities), memberships=observed_memberships,
        markers=MappingProxyType(dict(markers)),
    )
