"""Custom project roles in the v2 permission format, under both live path families.

Served at ``/api/v1/projects/{projectId}/roles…`` (current) and the deprecated
``/api/v2/workspace/{projectId}/roles…`` that Terraform still calls; both take and return
the same objects. Permissions are stored packed and returned unpacked (see
``permissions.py``). The list omits permissions, so a reconciler must fetch roles one by
one; it includes the built-in roles with ids derived from the project, which
cannot be changed through these routes. A duplicate slug is refused with 400 (wording
unconfirmed) and a reserved built-in slug with the documented message.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from pydantic import Field, field_validator
from starlette.requests import Request
from starlette.responses import Response

from converge_sandbox.infisical.access import require_project_permission
from converge_sandbox.infisical.auth import authenticate
from converge_sandbox.infisical.errors import bad_request, not_found
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

_SLUG = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
KNOWN_SUBJECTS = frozenset({
    "role", "member", "groups", "settings", "integrations", "webhooks", "service-tokens",
    "environments", "tags", "audit-logs", "ip-allowlist", "workspace", "secrets",
    "secret-folders", "secret-imports", "dynamic-secrets", "secret-rollback",
    "secret-approval", "secret-rotation", "identity", "certificate-authorities",
    "certificates", "certificate-templates", "certificate-policies", "kms", "pki-alerts",
    "pki-collections", "ssh-certificate-authorities", "ssh-certificates", "ssh-hosts",
    "secret-syncs", "commits", "project",
})
_CONDITION_OPERATORS = frozenset({"$eq", "$ne", "$in", "$glob", "$all"})


class PermissionRule(WireModel):
    subject: str
    action: str | list[str]
    inverted: bool | None = None
    conditions: dict[str, Any] | None = None

    @field_validator("subject")
    @classmethod
    def _known_subject(cls, value: str) -> str:
        if value not in KNOWN_SUBJECTS:
            raise ValueError(f"Invalid subject '{value}'")
        return value

    @field_validator("action")
    @classmethod
    def _non_empty_action(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and not value:
            raise ValueError("Array must contain at least 1 element(s)")
        return value

    @field_validator("conditions")
    @classmethod
    def _operators(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        for key, condition in (value or {}).items():
            if isinstance(condition, dict):
                unknown = set(condition) - _CONDITION_OPERATORS
                if unknown or not condition:
                    raise ValueError(f"Invalid condition operator on '{key}'")
            elif not isinstance(condition, str):
                raise ValueError(f"Invalid condition value on '{key}'")
        return value


class RoleCreate(WireModel):
    slug: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1)
    description: str | None = None
    permissions: list[PermissionRule]


class RoleUpdate(WireModel):
    slug: str | None = Field(default=None, min_length=1, max_length=64)
    name: str | None = Field(default=None, min_length=1)
    description: str | None = None
    permissions: list[PermissionRule] | None = None


def _rules(rules: list[PermissionRule]) -> list[list[Any]]:
    return pack_rules(r.model_dump(exclude_none=True) for r in rules)


def _check_slug(state: InfisicalState, project_id: str, slug: str, role_id: str | None) -> None:
    if slug in RESERVED_ROLE_SLUGS:
        raise bad_request("Please choose a different slug, the slug you have entered is reserved")
    if not _SLUG.match(slug):
        raise bad_request("Invalid slug")
    existing = state.role_by_slug(project_id, slug)
    if existing is not None and existing["id"] != role_id:
        raise bad_request(f"Role with slug '{slug}' already exists in project")


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
    body = await parse_body(request, RoleCreate)
    require_project_permission(state, actor, project["id"], "create", "role")
    _check_slug(state, project["id"], body.slug, None)
    doc = create_role_doc(state, project["id"], slug=body.slug, name=body.name,
                          description=body.description, permissions=_rules(body.permissions))
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
    body = await parse_body(request, RoleUpdate)
    require_project_permission(state, actor, project["id"], "edit", "role")
    doc = _project_role(state, project["id"], request.path_params["roleId"])
    if body.slug is not None:
        _check_slug(state, project["id"], body.slug, doc["id"])
        doc["slug"] = body.slug
    if body.name is not None:
        doc["name"] = body.name
    if "description" in body.model_fields_set:
        doc["description"] = body.description
    if body.permissions is not None:
        doc["permissions"] = _rules(body.permissions)
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
