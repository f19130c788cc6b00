"""Authorisation checks shared by the route modules.

Organisation-level objects (identities, their auth methods) are guarded by the caller's
org role: ``admin`` may do anything, ``member`` may read, ``no-access`` nothing. Project
objects (roles, memberships, secrets) are guarded by the CASL rules of the caller's
project membership roles, built-in or custom; a caller without a membership is refused
outright. Refusals use the vendor's ``PermissionDenied`` body.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from converge_sandbox.infisical.auth import Actor
from converge_sandbox.infisical.errors import forbidden, not_found, permission_denied
from converge_sandbox.infisical.permissions import (
    BUILT_IN_RULES,
    Rule,
    is_allowed,
    rules_for,
    unpack_rules,
)
from converge_sandbox.infisical.state import InfisicalState


def require_org_permission(actor: Actor, action: str, subject: str = "identity") -> None:
    """Org-level CASL check reduced to the three built-in org roles."""
    if actor.org_role == "admin":
        return
    if actor.org_role == "member" and action == "read":
        return
    raise permission_denied(action, subject)


def _role_active(role: dict[str, Any], now: float) -> bool:
    end = role.get("temporaryAccessEndTime")
    if not role.get("isTemporary") or not end:
        return True
    ends = datetime.fromisoformat(str(end).replace("Z", "+00:00")).timestamp()
    return now < ends


def project_rules(state: InfisicalState, actor: Actor, project_id: str) -> list[Rule]:
    """Every rule the caller holds in the project, in role order (later rules win).

    A service token holds the rules its scopes grant, in its own project only; an identity
    holds the rules of its membership's active roles."""
    if actor.service_token is not None:
        return service_token_rules(actor, project_id)
    project = state.get("project", project_id)
    if project is None:
        raise not_found(f"Project with {project_id} not found")
    if project["orgId"] != actor.org_id:
        raise forbidden(name="This project does not belong to your selected organization.")
    membership = state.membership(project_id, actor.identity_id)
    if membership is None:
        raise forbidden(name="You are not member of this project")
    rules: list[Rule] = []
    now = state.world.clock()
    for role in membership["roles"]:
        if not _role_active(role, now):
            continue
        if role["role"] == "custom":
            custom = state.get("role", f"{project_id}/{role['customRoleId']}")
            if custom is not None:
                rules.extend(unpack_rules(custom["permissions"]))
        else:
            rules.extend(BUILT_IN_RULES.get(role["role"], []))
    return rules


def require_project_permission(
    state: InfisicalState,
    actor: Actor,
    project_id: str,
    action: str,
    subject: str,
    obj: dict[str, Any] | None = None,
) -> list[Rule]:
    """Raise ``PermissionDenied`` unless the caller may ``action`` on ``subject``."""
    rules = project_rules(state, actor, project_id)
    if not is_allowed(rules, action, subject, obj or {}):
        raise permission_denied(action, subject, rules=rules_for(rules, action, subject))
    return rules


def service_token_rules(actor: Actor, project_id: str) -> list[Rule]:
    """What a legacy service token may do (the service's ``buildServiceTokenProjectPermission``):
    per scope, ``read`` and/or create/edit/delete on secrets, secret imports and folders of
    that environment under that path glob; nothing else, and only in its own project."""
    token = actor.service_token or {}
    if token.get("projectId") != project_id:
        raise forbidden(name=f"Service token not a part of the specified project with ID "
                             f"{project_id}")
    permissions = set(token.get("permissions") or [])
    rules: list[Rule] = []
    for scope in token.get("scopes") or []:
        conditions = {"secretPath": {"$glob": scope["secretPath"]},
                      "environment": scope["environment"]}
        for subject in ("secrets", "secret-imports", "secret-folders"):
            if "write" in permissions:
                rules += [{"subject": subject, "action": [a], "inverted": False,
                           "conditions": conditions} for a in ("edit", "create", "delete")]
            if "read" in permissions:
                rules.append({"subject": subject, "action": ["read"], "inverted": False,
                              "conditions": conditions})
    return rules
