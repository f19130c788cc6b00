"""Organisation machine identities: create, read, update, delete, list, who-am-i.

Reads return the *org membership* row with the identity nested inside it (top-level ``id``
is the membership id), while create/update/delete return the identity row itself; the
double nesting is the vendor's and easy to get wrong, so it is reproduced exactly.
``metadata`` (converge's ownership marker) is replaced wholesale on update and appears on
single reads, not in lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from converge_sandbox.infisical.access import require_org_permission
from converge_sandbox.infisical.auth import Actor, authenticate
from converge_sandbox.infisical.errors import bad_request, forbidden, not_found
from converge_sandbox.infisical.routes_memberships import membership_view
from converge_sandbox.infisical.routing import RouteSpec, ok
from converge_sandbox.infisical.state import InfisicalState, metadata_entries, new_id
from converge_sandbox.infisical.validation import WireModel, parse_body, parse_model

ORG_ROLES = ("admin", "member", "no-access")


class MetadataIn(WireModel):
    key: str = Field(min_length=1)
    value: str = Field(min_length=1)


class IdentityCreate(WireModel):
    name: str = Field(min_length=1)
    organizationId: str
    role: str = "no-access"
    hasDeleteProtection: bool = False
    metadata: list[MetadataIn] | None = None


class IdentityUpdate(WireModel):
    name: str | None = Field(default=None, min_length=1)
    role: str | None = None
    hasDeleteProtection: bool | None = None
    metadata: list[MetadataIn] | None = None


class OrgQuery(WireModel):
    orgId: str


class PageQuery(WireModel):
    offset: int = Field(default=0, ge=0)
    limit: int = Field(default=100, ge=1, le=20000)
    orderDirection: str = "asc"
    search: str | None = None


def _check_org_role(role: str) -> None:
    if role not in ORG_ROLES:
        raise bad_request(f"Failed to find role with slug '{role}'")


def identity_row(state: InfisicalState, doc: dict[str, Any]) -> dict[str, Any]:
    """The identity as create/update/delete return it."""
    return {
        "id": doc["id"], "name": doc["name"], "authMethod": None,
        "hasDeleteProtection": doc["hasDeleteProtection"], "orgId": doc["orgId"],
        "createdAt": doc["createdAt"], "updatedAt": doc["updatedAt"],
    }


def membership_row(
    state: InfisicalState, doc: Mapping[str, Any], *, with_metadata: bool
) -> dict[str, Any]:
    """The org-membership shape GET and list return, identity nested inside."""
    row: dict[str, Any] = {
        "id": doc["membershipId"], "role": doc["role"], "roleId": None, "orgId": doc["orgId"],
        "identityId": doc["id"], "createdAt": doc["createdAt"], "updatedAt": doc["updatedAt"],
        "identity": {
            "id": doc["id"], "name": doc["name"],
            "hasDeleteProtection": doc["hasDeleteProtection"], "orgId": doc["orgId"],
            "authMethods": state.auth_methods(doc["id"]), "activeLockoutAuthMethods": [],
        },
    }
    if with_metadata:
        row["metadata"] = doc["metadata"]
    return row


def _org_identity(state: InfisicalState, actor: Actor, identity_id: str) -> dict[str, Any]:
    doc = state.identity(identity_id)
    if doc["orgId"] != actor.org_id:
        raise not_found(f"Failed to find identity with ID {identity_id}")
    return doc


def create_identity_doc(
    state: InfisicalState, *, name: str, org_id: str, role: str,
    has_delete_protection: bool = False, metadata: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Create an identity with its org membership (also used by the seed)."""
    now = state.now()
    doc: dict[str, Any] = {
        "id": new_id(), "name": name, "orgId": org_id, "hasDeleteProtection": has_delete_protection,
        "membershipId": new_id(), "role": role, "metadata": metadata_entries(metadata or []),
        "createdAt": now, "updatedAt": now,
    }
    state.put("identity", doc["id"], doc)
    return doc


async def create_identity(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request)
    body = await parse_body(request, IdentityCreate)
    require_org_permission(actor, "create")
    state.org(body.organizationId)
    if body.organizationId != actor.org_id:
        raise forbidden("You are not allowed to access this organization")
    _check_org_role(body.role)
    doc = create_identity_doc(
        state, name=body.name, org_id=body.organizationId, role=body.role,
        has_delete_protection=body.hasDeleteProtection,
        metadata=[m.model_dump() for m in body.metadata or []],
    )
    row = identity_row(state, doc) | {"authMethods": [], "metadata": doc["metadata"]}
    return ok({"identity": row})


async def get_identity(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request)
    require_org_permission(actor, "read")
    doc = _org_identity(state, actor, request.path_params["identityId"])
    return ok({"identity": membership_row(state, doc, with_metadata=True)})


async def update_identity(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request)
    body = await parse_body(request, IdentityUpdate)
    require_org_permission(actor, "edit")
    doc = _org_identity(state, actor, request.path_params["identityId"])
    if body.role is not None:
        _check_org_role(body.role)
        doc["role"] = body.role
    if body.name is not None:
        doc["name"] = body.name
    if body.hasDeleteProtection is not None:
        doc["hasDeleteProtection"] = body.hasDeleteProtection
    if body.metadata is not None:
        doc["metadata"] = metadata_entries([m.model_dump() for m in body.metadata])
    doc["updatedAt"] = state.now()
    state.put("identity", doc["id"], doc)
    return ok({"identity": identity_row(state, doc) | {"metadata": doc["metadata"]}})


def delete_identity_cascade(state: InfisicalState, identity_id: str) -> None:
    """Remove an identity and everything hanging off it (auth methods, memberships)."""
    ua = state.get("ua", identity_id)
    if ua is not None:
        state.delete("lockout", ua["clientId"])
    state.delete("ua", identity_id)
    state.delete("token_auth", identity_id)
    for secret in state.list_docs("client_secret", f"{identity_id}/"):
        state.delete("client_secret", f"{identity_id}/{secret['id']}")
    for membership in state.find("project_membership",
                                 lambda m: m["identityId"] == identity_id):
        state.delete("project_membership", f"{membership['projectId']}/{identity_id}")
    for record in state.find("access_token", lambda t: t["identityId"] == identity_id):
        state.delete("access_token", record["id"])
    state.delete("identity", identity_id)


async def delete_identity(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request)
    require_org_permission(actor, "delete")
    doc = _org_identity(state, actor, request.path_params["identityId"])
    if doc["hasDeleteProtection"]:
        raise bad_request("Identity has delete protection enabled and cannot be deleted")
    delete_identity_cascade(state, doc["id"])
    return ok({"identity": identity_row(state, doc)})


async def list_identities(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request)
    org_id = parse_model(OrgQuery, dict(request.query_params)).orgId
    require_org_permission(actor, "read")
    if org_id != actor.org_id:
        raise forbidden("You are not allowed to access this organization")
    docs = [d for d in state.views("identity") if d["orgId"] == org_id]
    rows = [membership_row(state, d, with_metadata=False) for d in docs]
    return ok({"identities": rows, "totalCount": len(rows)})


async def list_org_memberships(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request)
    query = dict(request.query_params)
    for name in ("offset", "limit"):
        if name in query and query[name].lstrip("-").isdigit():
            query[name] = int(query[name])  # type: ignore[assignment]
    page = parse_model(PageQuery, query)
    org_id = request.path_params["orgId"]
    require_org_permission(actor, "read")
    if org_id != actor.org_id:
        raise forbidden("You are not allowed to access this organization")
    docs = [d for d in state.views("identity") if d["orgId"] == org_id]
    if page.search:
        docs = [d for d in docs if page.search.lower() in d["name"].lower()]
    docs.sort(key=lambda d: d["name"].lower(), reverse=page.orderDirection == "desc")
    window = docs[page.offset:page.offset + page.limit]
    rows = [membership_row(state, d, with_metadata=False) for d in window]
    return ok({"identityMemberships": rows, "totalCount": len(docs)})


async def identity_details(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request)
    org = state.org(actor.org_id)
    return ok({"identityDetails": {"organization": {"id": org["id"], "name": org["name"],
                                                    "slug": org["slug"]}}})


async def identity_project_memberships(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request)
    require_org_permission(actor, "read")
    doc = _org_identity(state, actor, request.path_params["identityId"])
    rows = [membership_view(state, m) for m in state.find(
        "project_membership", lambda m: m["identityId"] == doc["id"])]
    return ok({"identityMemberships": rows})


def routes() -> list[RouteSpec]:
    return [
        ("/api/v1/identities/details", ["GET"], identity_details),
        ("/api/v1/identities", ["POST"], create_identity),
        ("/api/v1/identities", ["GET"], list_identities),
        ("/api/v1/identities/{identityId}", ["GET"], get_identity),
        ("/api/v1/identities/{identityId}", ["PATCH"], update_identity),
        ("/api/v1/identities/{identityId}", ["DELETE"], delete_identity),
        ("/api/v1/identities/{identityId}/identity-memberships", ["GET"],
         identity_project_memberships),
        ("/api/v2/organizations/{orgId}/identity-memberships", ["GET"], list_org_memberships),
    ]
