"""The folders API under ``/api/v1/folders`` (``workspaceId``; the CLI's) and
``/api/v2/folders`` (``projectId``; the Python SDK's ``folders`` resource).

Behaviour follows the service's folder router and service: names must match
``^[a-zA-Z0-9-_]+$`` (a 422 otherwise); creating checks ``create`` on ``secret-folders``
at the parent path, creates missing parents and refuses an existing folder (400);
listing needs only project membership and answers ``[]`` under a missing path (recursive
listings add ``relativePath``); update and delete find the folder under its parent path,
by id or by name, with the service's 404s; deleting a folder that holds secrets or
folders needs ``forceDelete`` (v2 only; v1 has no such field). Service tokens are
accepted, as on the service.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from converge_sandbox.infisical import folders
from converge_sandbox.infisical.access import project_rules, require_project_permission
from converge_sandbox.infisical.auth import authenticate
from converge_sandbox.infisical.errors import bad_request, not_found, validation_failure
from converge_sandbox.infisical.routing import RouteSpec, ok, query_flag
from converge_sandbox.infisical.state import InfisicalState
from converge_sandbox.infisical.validation import WireModel, parse_body, parse_model


class _Target(WireModel):
    workspaceId: str | None = None
    projectId: str | None = None
    environment: str
    path: str = "/"


class FolderCreate(_Target):
    name: str
    description: str | None = None


class FolderUpdate(FolderCreate):
    pass


class FolderDelete(_Target):
    forceDelete: bool = False


class FolderListV1(_Target):
    pass


class FolderListV2(WireModel):
    projectId: str
    environment: str
    path: str
    lastSecretModified: str | None = Field(default=None, min_length=1)


def _project_field(version: int) -> str:
    return "workspaceId" if version == 1 else "projectId"


def _project_id(body: _Target, version: int) -> str:
    value = body.workspaceId if version == 1 else body.projectId
    if value is None:
        field = _project_field(version)
        raise validation_failure([{"code": "invalid_type", "expected": "string",
                                   "received": "undefined", "path": [field],
                                   "message": "Required"}])
    return value.strip()


def _check_name(name: str) -> str:
    name = name.strip()
    if not folders.valid_name(name):
        raise validation_failure([{"code": "custom", "message": folders.INVALID_NAME,
                                   "path": ["name"]}])
    return name


def _project(state: InfisicalState, project_id: str) -> dict[str, Any]:
    project = state.get("project", project_id)
    if project is None:
        raise not_found(f"Project with {project_id} not found")
    return project


def _environment(state: InfisicalState, project: dict[str, Any], slug: str, *,
                 with_project: bool = False, error: str = "NotFound") -> dict[str, Any]:
    env = next((e for e in project["environments"] if e["slug"] == slug), None)
    if env is None:
        where = f" in project with ID '{project['id']}'" if with_project else ""
        raise not_found(f"Environment with slug '{slug}'{where} not found", name=error)
    return dict(env)


def _under(state: InfisicalState, parent: dict[str, Any], id_or_name: str, *,
           by_name_first: bool) -> dict[str, Any] | None:
    """A child of ``parent`` given by id or name, looked up in the service's order."""
    siblings = folders.children(state, parent["projectId"], parent["environment"],
                                parent["path"])
    by_name = next((f for f in siblings if f["name"] == id_or_name), None)
    by_id = next((f for f in siblings if f["id"] == id_or_name), None)
    try:
        uuid.UUID(id_or_name)
        is_uuid = True
    except ValueError:
        is_uuid = False
    if by_name_first:
        return by_name or (by_id if is_uuid else None)
    return by_id if is_uuid else by_name


# -- handlers ---------------------------------------------------------------------------

async def _create(state: InfisicalState, request: Request, version: int) -> Response:
    actor = authenticate(state, request, service_token=True)
    body = await parse_body(request, FolderCreate)
    project_id = _project_id(body, version)
    name = _check_name(body.name)
    path = folders.normalise_path(body.path)
    environment = body.environment.strip()
    require_project_permission(state, actor, project_id, "create", "secret-folders",
                               {"environment": environment, "secretPath": path})
    project = _project(state, project_id)
    _environment(state, project, environment, with_project=True)
    target = folders.join(path, name)
    if state.folder(project_id, environment, target) is not None:
        raise bad_request(f"Folder with name '{name}' already exists in path '{path}'")
    created = folders.ensure_path(state, project, environment, target,
                                  description=body.description)
    return ok({"folder": folders.view(created, with_path=version == 2)})


async def _list(state: InfisicalState, request: Request, version: int) -> Response:
    actor = authenticate(state, request, service_token=True)
    query = dict(request.query_params)
    since: str | None = None
    if version == 1:
        v1 = parse_model(FolderListV1, query)
        project_id, environment, raw_path = _project_id(v1, 1), v1.environment, v1.path
    else:
        v2 = parse_model(FolderListV2, query)
        project_id, environment, raw_path = v2.projectId.strip(), v2.environment, v2.path
        since = v2.lastSecretModified
    environment = environment.strip()
    path = folders.normalise_path(raw_path)
    project_rules(state, actor, project_id)
    project = _project(state, project_id)
    _environment(state, project, environment)
    if state.folder(project_id, environment, path) is None:
        return ok({"folders": []})
    recursive = version == 2 and query_flag(request, "recursive", False)
    if recursive:
        found = folders.descendants(state, project_id, environment, path)
        rows = [folders.view(f) | {"relativePath": f["path"][len(path.rstrip("/")):]}
                for f in found]
    else:
        rows = [folders.view(f)
                for f in folders.children(state, project_id, environment, path)]
    if since:
        cutoff = _instant(since)
        rows = [r for r in rows
                if r["lastSecretModified"] and _instant(r["lastSecretModified"]) >= cutoff]
    return ok({"folders": rows})


def _instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise validation_failure([{"code": "invalid_string", "validation": "datetime",
                                   "message": "Invalid datetime",
                                   "path": ["lastSecretModified"]}]) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _get(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request, service_token=True)
    folder_id = str(request.path_params["folderId"]).strip()
    folder = folders.by_id(state, folder_id)
    if folder is None:
        raise not_found(f"Folder with ID '{folder_id}' not found")
    project_rules(state, actor, folder["projectId"])
    project = _project(state, folder["projectId"])
    env = _environment(state, project, folder["environment"])
    return ok({"folder": folders.view(folder, with_path=True) | {
        "environment": {"envId": env["id"], "envName": env["name"], "envSlug": env["slug"]},
        "projectId": folder["projectId"],
    }})


async def _update(state: InfisicalState, request: Request, version: int) -> Response:
    actor = authenticate(state, request, service_token=True)
    body = await parse_body(request, FolderUpdate)
    project_id = _project_id(body, version)
    name = _check_name(body.name)
    path = folders.normalise_path(body.path)
    environment = body.environment.strip()
    require_project_permission(state, actor, project_id, "edit", "secret-folders",
                               {"environment": environment, "secretPath": path})
    project = _project(state, project_id)
    parent = state.require_folder(project_id, environment, path, error="UpdateFolder")
    _environment(state, project, environment, error="UpdateFolder")
    folder_id = str(request.path_params["folderId"])
    folder = _under(state, parent, folder_id, by_name_first=False)
    if folder is None:
        raise not_found(f"Folder with ID '{folder_id}' not found", name="UpdateFolder")
    if name != folder["name"] and state.folder(project_id, environment,
                                               folders.join(path, name)) is not None:
        raise bad_request("Folder with specified name already exists", name="UpdateFolder")
    described = "description" in body.model_fields_set
    description = body.description if described else folder.get("description")
    updated = folders.rename(state, folder, name, description)
    return ok({"folder": folders.view(updated, with_path=version == 2)})


async def _delete(state: InfisicalState, request: Request, version: int) -> Response:
    actor = authenticate(state, request, service_token=True)
    body = await parse_body(request, FolderDelete)
    project_id = _project_id(body, version)
    path = folders.normalise_path(body.path)
    environment = body.environment.strip()
    require_project_permission(state, actor, project_id, "delete", "secret-folders",
                               {"environment": environment, "secretPath": path})
    project = _project(state, project_id)
    _environment(state, project, environment)
    parent = state.require_folder(project_id, environment, path)
    id_or_name = str(request.path_params["folderIdOrName"])
    folder = _under(state, parent, id_or_name, by_name_first=True)
    if folder is None:
        raise not_found(f"Folder with ID '{id_or_name}' not found")
    force = version == 2 and body.forceDelete
    if not force and folders.has_contents(state, folder):
        raise bad_request(f'Cannot delete folder "{folder["name"]}" because it contains '
                          "resources. Use forceDelete=true to delete it forcefully.",
                          name="deleteFolder")
    folders.delete_tree(state, folder)
    return ok({"folder": folders.view(folder)})


def _versioned(handler: Any, version: int) -> Any:
    async def bound(state: InfisicalState, request: Request) -> Response:
        response: Response = await handler(state, request, version)
        return response
    return bound


def routes() -> list[RouteSpec]:
    specs: list[RouteSpec] = []
    for version in (1, 2):
        base = f"/api/v{version}/folders"
        specs += [
            (base, ["GET"], _versioned(_list, version)),
            (base, ["POST"], _versioned(_create, version)),
            (base + "/{folderId}", ["GET"], _get),
            (base + "/{folderId}", ["PATCH"], _versioned(_update, version)),
            (base + "/{folderIdOrName}", ["DELETE"], _versioned(_delete, version)),
        ]
    return specs
