"""Project identity memberships: which identity holds which roles in a project.

Served under ``/api/v1/projects/{projectId}/identity-memberships`` and the deprecated
``/api/v2/workspace/{projectId}/identity-memberships`` Terraform uses. Roles are given
by slug; a custom role is stored and returned as ``role: "custom"`` with the slug in
``customRoleSlug``, which is the mapping a reconciler must undo. PATCH replaces the whole
role set. Adding an identity that is already a member is refused (400).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from converge_sandbox.infisical.access import require_project_permission
from converge_sandbox.infisical.auth import authenticate
from converge_sandbox.infisical.errors import bad_request, not_found
from converge_sandbox.infisical.permissions import BUILT_IN_ROLES
from converge_sandbox.infisical.routing import RouteSpec, ok
from converge_sandbox.infisical.state import InfisicalState, new_id
from converge_sandbox.infisical.validation import WireModel, parse_body, parse_model

_RANGE = re.compile(r"^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w|y)$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800,
                 "y": 31557600}


class RoleAssignment(WireModel):
    role: str = Field(min_length=1)
    isTemporary: bool = False
    temporaryMode: Literal["relative"] | None = None
    temporaryRange: str | None = None
    temporaryAccessStartTime: str | None = None


class MembershipCreate(WireModel):
    roles: list[RoleAssignment] | None = Field(default=None, min_length=1)
    role: str | None = None


class MembershipUpdate(WireModel):
    roles: list[RoleAssignment] = Field(min_length=1)


class ListQuery(WireModel):
    offset: int = Field(default=0, ge=0)
    limit: int = Field(default=100, ge=1, le=20000)
    orderDirection: Literal["asc", "desc"] = "asc"
    search: str | None = None


def _range_seconds(text: str) -> float:
    match = _RANGE.match(text.strip())
    if not match or float(match.group(1)) <= 0:
        raise bad_request(f"Invalid temporary range '{text}'")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def _resolve_roles(
    state: InfisicalState, project_id: str, assignments: list[RoleAssignment], membership_id: str
) -> list[dict[str, Any]]:
    now = state.now()
    resolved: list[dict[str, Any]] = []
    for assignment in assignments:
        entry: dict[str, Any] = {
            "id": new_id(), "role": assignment.role, "projectMembershipId": membership_id,
            "customRoleId": None, "customRoleName": None, "customRoleSlug": None,
            "isTemporary": assignment.isTemporary, "temporaryMode": None,
            "temporaryRange": None, "temporaryAccessStartTime": None,
            "temporaryAccessEndTime": None, "createdAt": now, "updatedAt": now,
        }
        if assignment.role not in BUILT_IN_ROLES:
            custom = state.role_by_slug(project_id, assignment.role)
            if custom is None:
                raise not_found(f"Failed to find custom role with slug '{assignment.role}'")
            entry.update(role="custom", customRoleId=custom["id"], customRoleName=custom["name"],
                         customRoleSlug=custom["slug"])
        if assignment.isTemporary:
            if not (assignment.temporaryMode and assignment.temporaryRange
                    and assignment.temporaryAccessStartTime):
                raise bad_request("Temporary role requires temporaryMode, temporaryRange and "
                                  "temporaryAccessStartTime")
            start_text = assignment.temporaryAccessStartTime.replace("Z", "+00:00")
            try:
                start = datetime.fromisoformat(start_text)
            except ValueError:
                raise bad_request("temporaryAccessStartTime must be an ISO-8601 datetime") from None
            if start.tzinfo is None:
                start = start.replace(tzinfo=UTC)
            end = start + timedelta(seconds=_range_seconds(assignment.temporaryRange))
            entry.update(temporaryMode=assignment.temporaryMode,
                         temporaryRange=assignment.temporaryRange,
                         temporaryAccessStartTime=start.isoformat().replace("+00:00", "Z"),
                         temporaryAccessEndTime=end.isoformat().replace("+00:00", "Z"))
        resolved.append(entry)
    return resolved


def _role_public(state: InfisicalState, project_id: str, role: dict[str, Any]
                 ) -> dict[str, Any]:
    """A role as nested in a membership read; a custom role's name and slug are read from
    the role itself, so a renamed role shows its new slug."""
    view = {k: v for k, v in role.items() if k != "projectMembershipId"}
    if role.get("customRoleId"):
        custom = state.get("role", f"{project_id}/{role['customRoleId']}")
        if custom is not None:
            view.update(customRoleName=custom["name"], customRoleSlug=custom["slug"])
    return view


def _role_row(role: dict[str, Any]) -> dict[str, Any]:
    """A role as the PATCH answers it (the membership-role row, no custom role names)."""
    return {k: v for k, v in role.items() if k not in ("customRoleName", "customRoleSlug")}


def membership_view(state: InfisicalState, doc: dict[str, Any]) -> dict[str, Any]:
    """The ``<PIM>`` shape: roles plus the nested identity and project."""
    identity = state.get("identity", doc["identityId"]) or {"name": ""}
    project = state.get("project", doc["projectId"]) or {"name": "", "type": "secret-manager"}
    return {
        "id": doc["id"], "identityId": doc["identityId"], "createdAt": doc["createdAt"],
        "updatedAt": doc["updatedAt"],
        "roles": [_role_public(state, doc["projectId"], r) for r in doc["roles"]],
        "identity": {"id": doc["identityId"], "name": identity["name"],
                     "authMethods": state.auth_methods(doc["identityId"])},
        "project": {"id": doc["projectId"], "name": project["name"],
                    "type": project.get("type", "secret-manager")},
    }


def add_membership(
    state: InfisicalState, project_id: str, identity_id: str, roles: list[RoleAssignment]
) -> dict[str, Any]:
    """Create a membership (also used by the seed to make the operator a project admin)."""
    now = state.now()
    membership_id = new_id()
    doc = {"id": membership_id, "projectId": project_id, "identityId": identity_id,
           "roles": _resolve_roles(state, project_id, roles, membership_id),
           "createdAt": now, "updatedAt": now}
    state.put("project_membership", f"{project_id}/{identity_id}", doc)
    return doc


def _membership(state: InfisicalState, project_id: str, identity_id: str) -> dict[str, Any]:
    doc = state.membership(project_id, identity_id)
    if doc is None:
        raise not_found(
            f"Identity with ID '{identity_id}' is not a member of project with ID '{project_id}'"
        )
    return doc


def _short(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: doc[k] for k in ("id", "projectId", "identityId", "createdAt", "updatedAt")}


async def create_membership(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request)
    project = state.project(request.path_params["projectId"])
    body = await parse_body(request, MembershipCreate)
    require_project_permission(state, actor, project["id"], "create", "identity")
    identity_id = request.path_params["identityId"]
    identity = state.identity(identity_id)
    if identity["orgId"] != project["orgId"]:
        raise not_found(f"Failed to find identity with ID {identity_id}")
    if body.roles is None and body.role is None:
        raise bad_request("You must provide either role or roles field")
    if state.membership(project["id"], identity_id) is not None:
        raise bad_request(
            f"Identity with ID {identity_id} already exists in project with ID {project['id']}"
        )
    roles = body.roles or [RoleAssignment(role=str(body.role))]
    doc = add_membership(state, project["id"], identity_id, roles)
    return ok({"identityMembership": _short(doc)})


async def get_membership(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request)
    project = state.project(request.path_params["projectId"])
    require_project_permission(state, actor, project["id"], "read", "identity")
    doc = _membership(state, project["id"], request.path_params["identityId"])
    return ok({"identityMembership": membership_view(state, doc)})


async def get_membership_by_id(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request)
    membership_id = request.path_params["identityMembershipId"]
    doc = state.first("project_membership", lambda m: m["id"] == membership_id)
    if doc is None:
        raise not_found(f"Failed to find identity membership with ID {membership_id}")
    require_project_permission(state, actor, doc["projectId"], "read", "identity")
    return ok({"identityMembership": membership_view(state, doc)})


async def update_membership(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request)
    project = state.project(request.path_params["projectId"])
    body = await parse_body(request, MembershipUpdate)
    require_project_permission(state, actor, project["id"], "edit", "identity")
    doc = _membership(state, project["id"], request.path_params["identityId"])
    doc["roles"] = _resolve_roles(state, project["id"], body.roles, doc["id"])
    doc["updatedAt"] = state.now()
    state.put("project_membership", f"{project['id']}/{doc['identityId']}", doc)
    return ok({"roles": [_role_row(r) for r in doc["roles"]]})


async def delete_membership(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request)
    project = state.project(request.path_params["projectId"])
    require_project_permission(state, actor, project["id"], "delete", "identity")
    doc = _membership(state, project["id"], request.path_params["identityId"])
    state.delete("project_membership", f"{project['id']}/{doc['identityId']}")
    return ok({"identityMembership": _short(doc)})


async def list_memberships(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request)
    project = state.project(request.path_params["projectId"])
    query: dict[str, Any] = dict(request.query_params)
    for name in ("offset", "limit"):
        if name in query and str(query[name]).lstrip("-").isdigit():
            query[name] = int(query[name])
    page = parse_model(ListQuery, query)
    require_project_permission(state, actor, project["id"], "read", "identity")
    views = [membership_view(state, m)
             for m in state.list_docs("project_membership", f"{project['id']}/")]
    if page.search:
        views = [v for v in views if page.search.lower() in v["identity"]["name"].lower()]
    views.sort(key=lambda v: v["identity"]["name"].lower(), reverse=page.orderDirection == "desc")
    window = views[page.offset:page.offset + page.limit]
    return ok({"identityMemberships": window, "totalCount": len(views)})


def routes() -> list[RouteSpec]:
    specs: list[RouteSpec] = [
        ("/api/v2/workspace/identity-memberships/{identityMembershipId}", ["GET"],
         get_membership_by_id),
    ]
    for base in ("/api/v1/projects/{projectId}/identity-memberships",
                 "/api/v2/workspace/{projectId}/identity-memberships"):
        specs += [
            (base, ["GET"], list_memberships),
            (base + "/{identityId}", ["POST"], create_membership),
            (base + "/{identityId}", ["GET"], get_membership),
            (base + "/{identityId}", ["PATCH"], update_membership),
            (base + "/{identityId}", ["DELETE"], delete_membership),
        ]
    return specs
