"""Secrets by project, environment and path: v3 "raw" (Python SDK, Terraform) and v4.

The two versions differ only in naming (``workspaceId`` versus ``projectId``) and share
one implementation. Folders are implicit: any path may hold secrets (the real service
needs the folder to exist; converge and the SDK only use seeded paths).

Every call is checked against the caller's project rules on subject ``secrets`` with the
secret's ``environment``, ``secretPath`` and ``secretName`` as conditions: listing needs
``describeSecret`` on the folder and returns only the secrets the caller may describe,
with values masked where it lacks ``readValue``; reading one secret needs ``readValue``;
writes need ``create``/``edit``/``delete``.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Literal

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from converge_sandbox.infisical.access import project_rules
from converge_sandbox.infisical.auth import Actor, authenticate
from converge_sandbox.infisical.errors import bad_request, not_found, permission_denied
from converge_sandbox.infisical.permissions import Rule, is_allowed
from converge_sandbox.infisical.routing import RouteSpec, ok, query_flag
from converge_sandbox.infisical.state import InfisicalState, new_id, secret_key
from converge_sandbox.infisical.validation import WireModel, parse_body, parse_model

HIDDEN_VALUE = "<hidden-by-infisical>"
_NAME = re.compile(r"^[^\s/:]+$")
_REFERENCE = re.compile(r"\$\{([^}]+)\}")


class ProjectRef(WireModel):
    workspaceId: str | None = None
    projectId: str | None = None
    workspaceSlug: str | None = None
    projectSlug: str | None = None


class SecretCreate(ProjectRef):
    environment: str
    secretPath: str = "/"
    secretValue: str
    secretComment: str = ""
    type: Literal["shared", "personal"] = "shared"
    tagIds: list[str] | None = None
    secretMetadata: list[dict[str, Any]] | None = None
    skipMultilineEncoding: bool | None = None
    secretReminderRepeatDays: float | None = None
    secretReminderNote: str | None = Field(default=None, max_length=1024)


class SecretUpdate(ProjectRef):
    environment: str
    secretPath: str = "/"
    secretValue: str | None = None
    secretComment: str | None = None
    newSecretName: str | None = None
    type: Literal["shared", "personal"] = "shared"
    tagIds: list[str] | None = None
    secretMetadata: list[dict[str, Any]] | None = None
    skipMultilineEncoding: bool | None = None
    secretReminderRepeatDays: float | None = None
    secretReminderNote: str | None = Field(default=None, max_length=1024)


class SecretDelete(ProjectRef):
    environment: str
    secretPath: str = "/"
    type: Literal["shared", "personal"] = "shared"


class SecretQuery(ProjectRef):
    environment: str
    secretPath: str = "/"
    type: Literal["shared", "personal"] = "shared"
    version: str | None = None


def normalise_path(path: str) -> str:
    """Leading slash added, trailing slash removed, ``/`` stays ``/``."""
    path = "/" + path.strip().strip("/")
    return re.sub(r"/+", "/", path)


def _normalise_value(value: str) -> str:
    """Trimmed, but one trailing newline survives (as the service stores values)."""
    return value.strip() + "\n" if value.endswith("\n") else value.strip()


def _project_id(state: InfisicalState, ref: ProjectRef) -> str:
    project_id = ref.projectId or ref.workspaceId
    if project_id:
        return str(state.project(project_id)["id"])
    slug = ref.projectSlug or ref.workspaceSlug
    if slug:
        return str(state.project_by_slug(slug)["id"])
    raise bad_request("Missing project id or environment")


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise bad_request("Secret name cannot contain spaces, slashes or colons")


def _subject(secret: dict[str, Any]) -> dict[str, Any]:
    return {"environment": secret["environment"], "secretPath": secret["secretPath"],
            "secretName": secret["secretKey"], "secretTags": [t["slug"] for t in secret["tags"]]}


def _require(rules: list[Rule], action: str, obj: dict[str, Any]) -> None:
    if not is_allowed(rules, action, "secrets", obj):
        raise permission_denied(action, "secrets", conditions=obj)


def _expand(state: InfisicalState, secret: dict[str, Any], depth: int = 0) -> str:
    """Resolve ``${KEY}`` (same folder) and ``${env.a.b.KEY}`` references."""

    def replace(match: re.Match[str]) -> str:
        parts = match.group(1).split(".")
        if len(parts) == 1:
            env, path, key = secret["environment"], secret["secretPath"], parts[0]
        else:
            env, path, key = parts[0], "/" + "/".join(parts[1:-1]), parts[-1]
        target = state.secret(secret["projectId"], env, normalise_path(path), key)
        if target is None or depth > 5:
            return ""
        return _expand(state, target, depth + 1)

    return _REFERENCE.sub(replace, str(secret["secretValue"]))


def secret_view(
    state: InfisicalState, secret: dict[str, Any], *, show_value: bool, expand: bool = False
) -> dict[str, Any]:
    view = {k: v for k, v in secret.items() if k != "projectId"}
    view["_id"] = secret["id"]
    view["workspace"] = secret["projectId"]
    if not show_value:
        view["secretValue"] = HIDDEN_VALUE
        view["secretValueHidden"] = True
    else:
        view["secretValueHidden"] = False
        if expand:
            view["secretValue"] = _expand(state, secret)
    return view


def _etag(views: list[dict[str, Any]]) -> str:
    """A weak validator over the listed secrets' ids and versions (the CLI reads ``etag``)."""
    digest = hashlib.sha256()
    for view in views:
        digest.update(f"{view['id']}:{view['version']};".encode())
    return f'W/"{digest.hexdigest()[:32]}"'


def _actor_view(state: InfisicalState, actor: Actor, project_id: str) -> dict[str, Any]:
    identity = state.get("identity", actor.identity_id) or {"name": ""}
    membership = state.membership(project_id, actor.identity_id) or {"id": None}
    return {"actorId": actor.identity_id, "actorType": "identity", "name": identity["name"],
            "membershipId": membership["id"], "groupId": None}


def _existing(state: InfisicalState, project_id: str, env: str, path: str, name: str
              ) -> dict[str, Any]:
    secret = state.secret(project_id, env, path, name)
    if secret is None:
        raise not_found(f"Secret with name '{name}' not found")
    return secret


def _context(state: InfisicalState, ref: ProjectRef, environment: str
             ) -> tuple[str, str]:
    project_id = _project_id(state, ref)
    state.environment(state.project(project_id), environment)
    return project_id, environment


# -- handlers ------------------------------------------------------------------------------

async def list_secrets(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request)
    query = dict(request.query_params)
    if not (query.get("projectId") or query.get("workspaceId") or query.get("workspaceSlug")
            or query.get("projectSlug")) or not query.get("environment"):
        raise bad_request("Missing project id or environment")
    ref = parse_model(SecretQuery, query)
    project_id, env = _context(state, ref, ref.environment)
    path = normalise_path(ref.secretPath)
    rules = project_rules(state, actor, project_id)
    _require(rules, "describeSecret", {"environment": env, "secretPath": path})
    view_value = query_flag(request, "viewSecretValue", True)
    expand = query_flag(request, "expandSecretReferences", False)
    recursive = query_flag(request, "recursive", False)
    views = []
    for secret in state.secrets_at(project_id, env, path, recursive=recursive):
        obj = _subject(secret)
        if not is_allowed(rules, "describeSecret", "secrets", obj):
            continue
        show = view_value and is_allowed(rules, "readValue", "secrets", obj)
        views.append(secret_view(state, secret, show_value=show, expand=expand))
    response = ok({"secrets": views, "imports": []})
    response.headers["etag"] = _etag(views)
    return response


async def get_secret(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request)
    ref = parse_model(SecretQuery, dict(request.query_params))
    project_id, env = _context(state, ref, ref.environment)
    path = normalise_path(ref.secretPath)
    name = request.path_params["secretName"]
    rules = project_rules(state, actor, project_id)
    _require(rules, "describeSecret", {"environment": env, "secretPath": path, "secretName": name})
    secret = _existing(state, project_id, env, path, name)
    if ref.version is not None and str(secret["version"]) != ref.version:
        raise not_found(f"Secret with name '{name}' and version {ref.version} not found")
    obj = _subject(secret)
    _require(rules, "describeSecret", obj)
    view_value = query_flag(request, "viewSecretValue", True)
    if view_value:
        _require(rules, "readValue", obj)
    expand = query_flag(request, "expandSecretReferences", False)
    return ok({"secret": secret_view(state, secret, show_value=view_value, expand=expand)})


async def get_secret_by_id(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request)
    secret_id = request.path_params["secretId"]
    secret = next((s for s in state.list_docs("secret") if s["id"] == secret_id), None)
    if secret is None:
        raise not_found(f"Secret with ID '{secret_id}' not found")
    rules = project_rules(state, actor, secret["projectId"])
    _require(rules, "readValue", _subject(secret))
    return ok({"secret": secret_view(state, secret, show_value=True)})


async def create_secret(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request)
    body = await parse_body(request, SecretCreate)
    name = request.path_params["secretName"]
    _check_name(name)
    project_id, env = _context(state, body, body.environment)
    path = normalise_path(body.secretPath)
    if body.type == "personal":
        raise bad_request("Must be user to create personal secret")
    rules = project_rules(state, actor, project_id)
    obj = {"environment": env, "secretPath": path, "secretName": name, "secretTags": []}
    _require(rules, "create", obj)
    if state.secret(project_id, env, path, name) is not None:
        raise bad_request(f"Secret with name '{name}' already exists")
    now = state.now()
    secret: dict[str, Any] = {
        "id": new_id(), "projectId": project_id, "environment": env, "secretPath": path,
        "secretKey": name, "secretValue": _normalise_value(body.secretValue),
        "secretComment": body.secretComment, "version": 1, "type": "shared",
        "secretReminderNote": body.secretReminderNote,
        "secretReminderRepeatDays": body.secretReminderRepeatDays,
        "skipMultilineEncoding": bool(body.skipMultilineEncoding),
        "isRotatedSecret": False, "rotationId": None,
        "secretMetadata": [{"key": m.get("key"), "value": m.get("value"),
                            "isEncrypted": bool(m.get("isEncrypted", False))}
                           for m in body.secretMetadata or []],
        "tags": [], "actor": _actor_view(state, actor, project_id),
        "createdAt": now, "updatedAt": now,
    }
    state.put("secret", secret_key(project_id, env, path, name), secret)
    return ok({"secret": secret_view(state, secret, show_value=True)})


async def update_secret(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request)
    body = await parse_body(request, SecretUpdate)
    name = request.path_params["secretName"]
    project_id, env = _context(state, body, body.environment)
    path = normalise_path(body.secretPath)
    rules = project_rules(state, actor, project_id)
    secret = _existing(state, project_id, env, path, name)
    _require(rules, "edit", _subject(secret))
    if body.newSecretName and body.newSecretName != name:
        _check_name(body.newSecretName)
        if state.secret(project_id, env, path, body.newSecretName) is not None:
            raise bad_request(f"Secret with name '{body.newSecretName}' already exists")
        state.delete("secret", secret_key(project_id, env, path, name))
        secret["secretKey"] = body.newSecretName
    if body.secretValue is not None:
        secret["secretValue"] = _normalise_value(body.secretValue)
    if body.secretComment is not None:
        secret["secretComment"] = body.secretComment
    if body.skipMultilineEncoding is not None:
        secret["skipMultilineEncoding"] = body.skipMultilineEncoding
    if "secretReminderNote" in body.model_fields_set:
        secret["secretReminderNote"] = body.secretReminderNote
    if "secretReminderRepeatDays" in body.model_fields_set:
        secret["secretReminderRepeatDays"] = body.secretReminderRepeatDays
    if body.secretMetadata is not None:
        secret["secretMetadata"] = [{"key": m.get("key"), "value": m.get("value"),
                                     "isEncrypted": bool(m.get("isEncrypted", False))}
                                    for m in body.secretMetadata]
    secret["version"] = int(secret["version"]) + 1
    secret["actor"] = _actor_view(state, actor, project_id)
    secret["updatedAt"] = state.now()
    state.put("secret", secret_key(project_id, env, path, secret["secretKey"]), secret)
    return ok({"secret": secret_view(state, secret, show_value=True)})


async def delete_secret(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request)
    raw = await request.body()
    if raw.strip():
        body = await parse_body(request, SecretDelete)
    else:
        body = parse_model(SecretDelete, dict(request.query_params))
    name = request.path_params["secretName"]
    project_id, env = _context(state, body, body.environment)
    path = normalise_path(body.secretPath)
    rules = project_rules(state, actor, project_id)
    secret = _existing(state, project_id, env, path, name)
    _require(rules, "delete", _subject(secret))
    state.delete("secret", secret_key(project_id, env, path, name))
    return ok({"secret": secret_view(state, secret, show_value=True)})


def routes() -> list[RouteSpec]:
    specs: list[RouteSpec] = []
    for base in ("/api/v3/secrets/raw", "/api/v4/secrets"):
        specs += [
            (base, ["GET"], list_secrets),
            (base + "/id/{secretId}", ["GET"], get_secret_by_id),
            (base + "/{secretName}", ["GET"], get_secret),
            (base + "/{secretName}", ["POST"], create_secret),
            (base + "/{secretName}", ["PATCH"], update_secret),
            (base + "/{secretName}", ["DELETE"], delete_secret),
        ]
    return specs
