"""Secrets by project, environment and path: v3 "raw" (Python SDK, Terraform, CLI writes)
and v4 (CLI reads).

The two versions differ only in naming (``workspaceId`` versus ``projectId``) and share
one implementation, which follows the service's secret service step by step, with its
messages and error names: a secret lives in a folder that must exist (404 ``Folder with
path '…' in environment with slug '…' not found``, named after the failing operation);
a name already taken is refused; ``tagIds`` must all be tags of the project; references
(``${KEY}``, ``${env.path.KEY}``) in a written value must point at existing secrets;
every write keeps a version, and ``?version=N`` reads that version back.

Permissions are the caller's project rules on subject ``secrets`` with the secret's
``environment``, ``secretPath``, ``secretName`` and ``secretTags``: listing needs
``describeSecret`` somewhere in the project and returns only the secrets the caller may
describe (values masked where it lacks ``readValue``); reading one secret needs
``describeSecret`` on it and, to see the value, ``readValue``; writes need
``create``/``edit``/``delete``. Legacy service tokens are accepted here, within their
scopes, as on the service.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Literal

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from converge_sandbox.infisical import folders
from converge_sandbox.infisical.access import project_rules
from converge_sandbox.infisical.auth import Actor, authenticate
from converge_sandbox.infisical.errors import bad_request, forbidden, not_found, permission_denied
from converge_sandbox.infisical.folders import normalise_path
from converge_sandbox.infisical.permissions import Rule, is_allowed, rules_for
from converge_sandbox.infisical.routing import RouteSpec, ok, query_flag
from converge_sandbox.infisical.state import InfisicalState, new_id, secret_key
from converge_sandbox.infisical.validation import WireModel, parse_body, parse_model

HIDDEN_VALUE = "<hidden-by-infisical>"
_NAME = re.compile(r"^[^\s/:]+$")
_REFERENCE = re.compile(r"\$\{([^}]+)\}")
_INTERNAL = ("projectId", "folderId")


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
    environment: str | None = None
    secretPath: str = "/"
    type: Literal["shared", "personal"] = "shared"
    version: str | None = None


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
        raise permission_denied(action, "secrets", rules=rules_for(rules, action, "secrets"))


def _can_describe(rules: list[Rule], obj: dict[str, Any]) -> bool:
    return is_allowed(rules, "describeSecret", "secrets", obj)


def _can_read_value(rules: list[Rule], obj: dict[str, Any]) -> bool:
    return is_allowed(rules, "readValue", "secrets", obj)


def _references(value: str, environment: str, path: str) -> list[tuple[str, str, str]]:
    """(environment, path, key) of every ``${…}`` reference in a value."""
    found: list[tuple[str, str, str]] = []
    for match in _REFERENCE.finditer(value):
        parts = match.group(1).split(".")
        if len(parts) == 1:
            found.append((environment, path, parts[0]))
        else:
            found.append((parts[0], normalise_path("/".join(parts[1:-1])), parts[-1]))
    return found


def _validate_references(state: InfisicalState, rules: list[Rule], project_id: str,
                         value: str, environment: str, path: str) -> None:
    """The service's ``$validateSecretReferences``: every referenced environment, folder
    and secret must exist and be describable by the caller (400s otherwise)."""
    references = _references(value, environment, path)
    if not references:
        return
    project = state.project(project_id)
    slugs = {e["slug"] for e in project["environments"]}
    missing_envs = sorted({env for env, _, _ in references if env not in slugs})
    if missing_envs:
        raise bad_request(f"Referenced environment not found. Missing {','.join(missing_envs)}")
    for env, ref_path, _ in references:
        if state.folder(project_id, env, ref_path) is None:
            raise bad_request(f"Referenced path {ref_path} doesn't exist")
    missing = [key for env, ref_path, key in references
               if state.secret(project_id, env, ref_path, key) is None]
    if missing:
        raise bad_request(f"Referenced secret(s) not found: {','.join(missing)}")
    for env, ref_path, key in references:
        target = state.secret(project_id, env, ref_path, key)
        assert target is not None
        _require_describe(rules, _subject(target))


def _require_describe(rules: list[Rule], obj: dict[str, Any]) -> None:
    """``throwIfMissingSecretReadValueOrDescribePermission`` for describing."""
    if not (is_allowed(rules, "read", "secrets", obj) or _can_describe(rules, obj)):
        raise permission_denied("describeSecret", "secrets",
                                rules=rules_for(rules, "describeSecret", "secrets"))


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
    view = {k: v for k, v in secret.items() if k not in _INTERNAL}
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
    if actor.service_token is not None:
        return {"actorId": actor.identity_id, "actorType": "service",
                "name": actor.service_token.get("name", ""), "membershipId": None,
                "groupId": None}
    identity = state.get("identity", actor.identity_id) or {"name": ""}
    membership = state.membership(project_id, actor.identity_id) or {"id": None}
    return {"actorId": actor.identity_id, "actorType": "identity", "name": identity["name"],
            "membershipId": membership["id"], "groupId": None}


def _tags(state: InfisicalState, project_id: str, tag_ids: list[str] | None
          ) -> list[dict[str, Any]]:
    """The project's tags with these ids; any unknown id is the service's 404."""
    if not tag_ids:
        return []
    known = {t["id"]: t for t in state.list_docs("tag", f"{project_id}/")}
    found = [known[i] for i in dict.fromkeys(tag_ids) if i in known]
    if len(found) != len(tag_ids):
        raise not_found(f"Tag not found. Found {','.join(t['slug'] for t in found)}")
    return [{"id": t["id"], "slug": t["slug"], "name": t["name"], "color": t["color"]}
            for t in found]


def _metadata(items: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [{"key": m.get("key"), "value": m.get("value"),
             "isEncrypted": bool(m.get("isEncrypted", False))} for m in items or []]


def _keep_version(state: InfisicalState, secret: dict[str, Any]) -> None:
    state.put("secret_version", f"{secret['id']}|{secret['version']}", dict(secret))


def store_secret(state: InfisicalState, secret: dict[str, Any]) -> None:
    state.put("secret", secret_key(secret["projectId"], secret["environment"],
                                   secret["secretPath"], secret["secretKey"]), secret)
    _keep_version(state, secret)
    folders.touch(state, secret["projectId"], secret["environment"], secret["secretPath"])


def _service_scope(actor: Actor) -> dict[str, str] | None:
    """A service token with a single non-glob scope reads only that folder: the service
    replaces the request's environment and path with the scope's."""
    token = actor.service_token
    if token is None or len(token.get("scopes") or []) != 1:
        return None
    scope: dict[str, str] = token["scopes"][0]
    return None if re.search(r"[*?{}\[\]]", scope["secretPath"]) else scope


def _read_target(state: InfisicalState, actor: Actor, ref: SecretQuery
                 ) -> tuple[str, str, str]:
    scope = _service_scope(actor)
    if scope is not None and actor.service_token is not None:
        return (str(actor.service_token["projectId"]), scope["environment"],
                normalise_path(scope["secretPath"]))
    if not ref.environment:
        raise bad_request("Missing project id or environment")
    return _project_id(state, ref), ref.environment, normalise_path(ref.secretPath)


# -- handlers ------------------------------------------------------------------------------

async def list_secrets(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request, service_token=True)
    query = dict(request.query_params)
    ref = parse_model(SecretQuery, query)
    if _service_scope(actor) is None and not (
        ref.projectId or ref.workspaceId or ref.workspaceSlug or ref.projectSlug
    ):
        raise bad_request("Missing project id or environment")
    project_id, env, path = _read_target(state, actor, ref)
    rules = project_rules(state, actor, project_id)
    _require_describe(rules, {})
    view_value = query_flag(request, "viewSecretValue", True)
    expand = query_flag(request, "expandSecretReferences", False)
    recursive = query_flag(request, "recursive", False)
    if state.folder(project_id, env, path) is None:
        response = ok({"secrets": [], "imports": []})
        response.headers["etag"] = _etag([])
        return response
    views = []
    for secret in state.secrets_at(project_id, env, path, recursive=recursive):
        obj = _subject(secret)
        if not (is_allowed(rules, "read", "secrets", obj) or _can_describe(rules, obj)):
            continue
        readable = is_allowed(rules, "read", "secrets", obj) or _can_read_value(rules, obj)
        if view_value and secret["secretPath"] != path and not readable:
            continue
        views.append(secret_view(state, secret, show_value=view_value and readable,
                                 expand=expand))
    response = ok({"secrets": views, "imports": []})
    response.headers["etag"] = _etag(views)
    return response


def _version(state: InfisicalState, folder: dict[str, Any], name: str, version: str,
             current: dict[str, Any] | None) -> dict[str, Any] | None:
    try:
        number = int(float(version))
    except ValueError:
        return None
    found = state.find("secret_version", lambda v: v.get("folderId") == folder["id"]
                       and v["secretKey"] == name and int(v["version"]) == number)
    if current is not None:
        mine = [v for v in found if v["id"] == current["id"]]
        found = mine or found
    return found[0] if found else None


async def get_secret(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request, service_token=True)
    ref = parse_model(SecretQuery, dict(request.query_params))
    project_id, env, path = _read_target(state, actor, ref)
    name = request.path_params["secretName"]
    rules = project_rules(state, actor, project_id)
    folder = state.require_folder(project_id, env, path, error="GetSecretByName")
    current = state.secret(project_id, env, path, name)
    secret = current
    if ref.version is not None:
        secret = _version(state, folder, name, ref.version, current)
    tags = [t["slug"] for t in secret["tags"]] if secret else []
    obj = {"environment": env, "secretPath": path, "secretName": name, "secretTags": tags}
    _require_describe(rules, obj)
    if secret is None:
        raise not_found(f"Secret with name '{name}' not found")
    view_value = query_flag(request, "viewSecretValue", True)
    if view_value and not (is_allowed(rules, "read", "secrets", obj)
                           or _can_read_value(rules, obj)):
        raise forbidden(f"You do not have permission to view secret value on secret with "
                        f"name '{name}'", name="ForbiddenReadSecretError")
    expand = query_flag(request, "expandSecretReferences", False)
    return ok({"secret": secret_view(state, secret, show_value=view_value, expand=expand)})


async def get_secret_by_id(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request)
    secret_id = request.path_params["secretId"]
    secret = state.first("secret", lambda s: s["id"] == secret_id)
    if secret is None:
        raise not_found(f"Secret with ID '{secret_id}' not found", name="GetSecretById")
    rules = project_rules(state, actor, secret["projectId"])
    obj = _subject(secret)
    if not (is_allowed(rules, "read", "secrets", obj) or _can_read_value(rules, obj)):
        raise permission_denied("readValue", "secrets",
                                rules=rules_for(rules, "readValue", "secrets"))
    return ok({"secret": secret_view(state, secret, show_value=True)})


def _write_context(state: InfisicalState, actor: Actor, ref: ProjectRef, environment: str,
                   secret_path: str) -> tuple[str, str, str, list[Rule]]:
    project_id = _project_id(state, ref)
    rules = project_rules(state, actor, project_id)
    return project_id, environment, normalise_path(secret_path), rules


async def create_secret(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request, service_token=True)
    body = await parse_body(request, SecretCreate)
    name = request.path_params["secretName"]
    _check_name(name)
    project_id, env, path, rules = _write_context(state, actor, body, body.environment,
                                                  body.secretPath)
    folder = state.require_folder(project_id, env, path, error="CreateSecret")
    if body.type == "personal":
        raise bad_request("Must be user to create personal secret")
    if state.secret(project_id, env, path, name) is not None:
        raise bad_request("Secret already exist")
    tags = _tags(state, project_id, body.tagIds)
    obj = {"environment": env, "secretPath": path, "secretName": name,
           "secretTags": [t["slug"] for t in tags]}
    _require(rules, "create", obj)
    value = _normalise_value(body.secretValue)
    _validate_references(state, rules, project_id, value, env, path)
    now = state.now()
    secret: dict[str, Any] = {
        "id": new_id(), "projectId": project_id, "folderId": folder["id"], "environment": env,
        "secretPath": path, "secretKey": name, "secretValue": value,
        "secretComment": body.secretComment, "version": 1, "type": "shared",
        "secretReminderNote": body.secretReminderNote,
        "secretReminderRepeatDays": body.secretReminderRepeatDays,
        "skipMultilineEncoding": bool(body.skipMultilineEncoding),
        "isRotatedSecret": False, "rotationId": None,
        "secretMetadata": _metadata(body.secretMetadata),
        "tags": tags, "actor": _actor_view(state, actor, project_id),
        "createdAt": now, "updatedAt": now,
    }
    store_secret(state, secret)
    return ok({"secret": secret_view(state, secret, show_value=True)})


async def update_secret(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request, service_token=True)
    body = await parse_body(request, SecretUpdate)
    name = request.path_params["secretName"]
    project_id, env, path, rules = _write_context(state, actor, body, body.environment,
                                                  body.secretPath)
    if body.newSecretName == "":
        raise bad_request("New secret name cannot be empty")
    folder = state.require_folder(project_id, env, path, error="UpdateSecret")
    if body.type == "personal":
        raise bad_request("Must be user to create personal secret")
    secret = state.secret(project_id, env, path, name)
    if secret is None:
        raise not_found(f"Secret with name {name} not found")
    _require(rules, "edit", _subject(secret))
    tags = _tags(state, project_id, body.tagIds) if body.tagIds is not None else secret["tags"]
    obj = {"environment": env, "secretPath": path, "secretName": name}
    if tags:
        obj["secretTags"] = [t["slug"] for t in tags]
    _require(rules, "edit", obj)
    if body.newSecretName and body.newSecretName != name:
        _check_name(body.newSecretName)
        if state.secret(project_id, env, path, body.newSecretName) is not None:
            raise bad_request("Secret with the new name already exist")
        _require(rules, "edit", {**obj, "secretName": body.newSecretName})
    if body.secretValue:
        _validate_references(state, rules, project_id, _normalise_value(body.secretValue),
                             env, path)
    if body.newSecretName and body.newSecretName != name:
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
        secret["secretMetadata"] = _metadata(body.secretMetadata)
    secret["tags"] = tags
    secret["folderId"] = folder["id"]
    secret["version"] = int(secret["version"]) + 1
    secret["actor"] = _actor_view(state, actor, project_id)
    secret["updatedAt"] = state.now()
    store_secret(state, secret)
    return ok({"secret": secret_view(state, secret, show_value=True)})


async def delete_secret(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request, service_token=True)
    raw = await request.body()
    if raw.strip():
        body = await parse_body(request, SecretDelete)
    else:
        body = parse_model(SecretDelete, dict(request.query_params))
    name = request.path_params["secretName"]
    project_id, env, path, rules = _write_context(state, actor, body, body.environment,
                                                  body.secretPath)
    state.require_folder(project_id, env, path, error="DeleteSecret")
    if body.type == "personal":
        raise bad_request("Must be user to delete personal secret")
    secret = state.secret(project_id, env, path, name)
    if secret is None:
        raise not_found("Secret not found")
    _require(rules, "delete", _subject(secret))
    state.delete("secret", secret_key(project_id, env, path, name))
    folders.touch(state, project_id, env, path)
    obj = _subject(secret)
    readable = is_allowed(rules, "read", "secrets", obj) or _can_read_value(rules, obj)
    return ok({"secret": secret_view(state, secret, show_value=readable)})


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
