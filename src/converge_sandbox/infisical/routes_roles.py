"""Custom project roles in the v2 permission format, under both live path families.

Served at ``/api/v1/projects/{projectId}/roles…`` (current) and the deprecated
``/api/v2/workspace/{projectId}/roles…`` that Terraform still calls; both take and return
the same objects. Rules are validated as the service's zod schema does
(``permission_schema``: a 422 listing the zod issues; what a subject does not take is
dropped), stored packed and returned unpacked (``permissions``). The list omits
permissions, so a reconciler must fetch roles one by one; it includes the built-in roles
with ids derived from the project, which cannot be changed through these routes. A
reserved built-in slug is a 422 with the service's refinement message; a slug already used
in the project is the service's 400 ``Project role with same slug already exists``.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any, TypeVar

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from converge_sandbox.infisical.access import require_project_permission
from converge_sandbox.infisical.auth import authenticate
from converge_sandbox.infisical.errors import (
    InfisicalApiError,
    bad_request,
    not_found,
    validation_failure,
)
from converge_sandbox.infisical.permission_schema import check_combinations, parse_permissions
from converge_sandbox.infisical.permissions import (
    BUILT_IN_ROLES,
    BUILT_IN_RULES,
    RESERVED_ROLE_SLUGS,
    pack_rules,
    unpack_rules,
)
from converge_sandbox.infisical.routing import RouteSpec, ok
from converge_sandbox.infisical.state import InfisicalState, new_id
from converge_sandbox.infisical.validation import WireModel, parse_body
from converge_sandbox.infisical.zodcheck import MISSING

M = TypeVar("M", bound=BaseModel)

_SLUG = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
RESERVED_MESSAGE = "Please choose a different slug, the slug you have entered is reserved"


class RoleCreate(WireModel):
    slug: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1)
    description: str | None = None
    permissions: Any = None


class RoleUpdate(WireModel):
    slug: str | None = Field(default=None, min_length=1, max_length=64)
    name: str | None = None
    description: str | None = None
    permissions: Any = None


async def _parse_role(request: Request, model: type[M], *, required: bool) -> tuple[M, Any]:
    """The body as the service's zod schema reads it: the plain fields, the reserved-slug
    refinement, then every permission rule (``permission_schema``); all issues in one 422.
    Returns the body and the parsed rules (None when an update sends none)."""
    raw = await request.body()
    try:
        data = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise bad_request("Body is not valid JSON") from None
    issues: list[dict[str, Any]] = []
    body: M | None = None
    try:
        body = await parse_body(request, model)
    except InfisicalApiError as error:
        if not isinstance(error.message, list) or not isinstance(data, dict):
            raise
        issues += error.message
    slug = data.get("slug") if isinstance(data, dict) else None
    if isinstance(slug, str) and slug in RESERVED_ROLE_SLUGS:
        issues.append({"code": "custom", "message": RESERVED_MESSAGE, "path": ["slug"]})
    rules: Any = None
    sent = isinstance(data, dict) and "permissions" in data
    if required or sent:
        value = data.get("permissions") if isinstance(data, dict) else None
        parsed = parse_permissions(value if sent else MISSING, ["permissions"])
        issues += parsed.issues
        rules = parsed.value
    if issues:
        raise validation_failure(issues)
    assert body is not None
    if rules is not None:
        check_combinations(rules)
    return body, rules


def _check_slug(state: InfisicalState, project_id: str, slug: str, role_id: str | None) -> None:
    if not _SLUG.match(slug):
        raise validation_failure([{"code": "custom", "message": "Invalid slug", "path": ["slug"]}])
    existing = state.role_by_slug(project_id, slug)
    if existing is not None and existing["id"] != role_id:
        raise bad_request("Project role with same slug already exists",
                          name="Create Role" if role_id is None else "Update Role")


def _description(value: str | None) -> str | None:
    """``z.string().trim().nullish()``."""
    return value.strip() if isinstance(value, str) else value


def role_view(doc: dict[str, Any], *, with_permissions: bool = True) -> dict[str, Any]:
    view = {k: doc[k] for k in ("id", "name", "slug", "description", "projectId",
                                "createdAt", "updatedAt")}
    if with_permissions:
        view["permissions"] = unpack_rules(doc["permissions"])
    return view


def built_in_role(project: dict[str, Any], slug: str) -> dict[str, Any]:
    """A predefined role as the emulator lists it; its id is stable per project."""
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"infisical-role:{project['id']}:{slug}")),
        "name": slug.replace("-", " ").title(), "slug": slug,
        "description": f"Built-in {slug} role", "projectId": project["id"],
        "permissions": pack_rules(BUILT_IN_RULES[slug]),
        "createdAt": project["createdAt"], "updatedAt": project["createdAt"],
    }


def create_role_doc(
    state: InfisicalState, project_id: str, *, slug: str, name: str,
    description: str | None, permissions: list[list[Any]],
) -> dict[str, Any]:
    now = state.now()
    doc = {"id": new_id(), "name": name, "slug": slug, "description": description,
           "projectId": project_id, "permissions": permissions,
           "createdAt": now, "updatedAt": now}
    state.put("role", f"{project_id}/{doc['id']}", doc)
    return doc


async def create_role(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request)
    project = state.project(request.path_params["projectId"])
    body, rules = await _parse_role(request, RoleCreate, required=True)
    require_project_permission(state, actor, project["id"], "create", "role")
    _check_slug(state, project["id"], body.slug, None)
    doc = create_role_doc(state, project["id"], slug=body.slug, name=body.name.strip(),
                          description=_description(body.description),
                          permissions=pack_rules(rules))
    return ok({"role": role_view(doc)})


async def list_roles(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request)
    project = state.project(request.path_params["projectId"])
    require_project_permission(state, actor, project["id"], "read", "role")
    built_in = [built_in_role(project, slug) for slug in BUILT_IN_ROLES]
    custom = state.roles(project["id"])
    return ok({"roles": [role_view(r, with_permissions=False) for r in built_in + custom]})


async def get_role_by_slug(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request)
    project = state.project(request.path_params["projectId"])
    require_project_permission(state, actor, project["id"], "read", "role")
    slug = request.path_params["roleSlug"]
    if slug in BUILT_IN_ROLES:
        return ok({"role": role_view(built_in_role(project, slug))})
    doc = state.role_by_slug(project["id"], slug)
    if doc is None:
        raise not_found(f"Role with slug '{slug}' not found")
    return ok({"role": role_view(doc)})


async def get_role_by_id(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request)
    role_id = request.path_params["roleId"]
    doc = state.role_by_id(role_id)
    if doc is None:
        raise not_found(f"Role with ID '{role_id}' not found")
    require_project_permission(state, actor, doc["projectId"], "read", "role")
    return ok({"role": role_view(doc)})


def _project_role(state: InfisicalState, project_id: str, role_id: str) -> dict[str, Any]:
    doc = state.get("role", f"{project_id}/{role_id}")
    if doc is None:
        raise not_found(f"Role with ID '{role_id}' not found")
    return doc


async def update_role(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request)
    project = state.project(request.path_params["projectId"])
    body, rules = await _parse_role(request, RoleUpdate, required=False)
    require_project_permission(state, actor, project["id"], "edit", "role")
    doc = _project_role(state, project["id"], request.path_params["roleId"])
    if body.slug is not None:
        _check_slug(state, project["id"], body.slug, doc["id"])
        doc["slug"] = body.slug
    if body.name is not None:
        doc["name"] = body.name.strip()
    if "description" in body.model_fields_set:
        doc["description"] = _description(body.description)
    if rules is not None:
        doc["permissions"] = pack_rules(rules)
    doc["updatedAt"] = state.now()
    state.put("role", f"{project['id']}/{doc['id']}", doc)
    return ok({"role": role_view(doc)})


async def delete_role(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request)
    project = state.project(request.path_params["projectId"])
    require_project_permission(state, actor, project["id"], "delete", "role")
    doc = _project_role(state, project["id"], request.path_params["roleId"])
    state.delete("role", f"{project['id']}/{doc['id']}")
    for membership in state.list_docs("project_membership", f"{project['id']}/"):
        kept = [r for r in membership["roles"] if r.get("customRoleId") != doc["id"]]
        if len(kept) != len(membership["roles"]):
            membership["roles"] = kept
            state.put("project_membership", f"{project['id']}/{membership['identityId']}",
                      membership)
    return ok({"role": role_view(doc)})


def routes() -> list[RouteSpec]:
    specs: list[RouteSpec] = [("/api/v1/projects/roles/{roleId}", ["GET"], get_role_by_id)]
    for base in ("/api/v1/projects/{projectId}/roles", "/api/v2/workspace/{projectId}/roles"):
        specs += [
            (base, ["POST"], create_role),
            (base, ["GET"], list_roles),
            (base + "/slug/{roleSlug}", ["GET"], get_role_by_slug),
            (base + "/{roleId}", ["PATCH"], update_role),
            (base + "/{roleId}", ["DELETE"], delete_role),
        ]
    return specs
