"""Projects and their environments, read-only (projects are created by the seed).

The same project object is served under the current paths (``/api/v1/projects/...``,
key ``project``) and the legacy ones Terraform calls (``/api/v1/workspace/{id}``, key
``workspace``; ``/api/v2/workspace/{slug}``, unwrapped). There is no environments list:
environments ride inside the project object, as on the real service. A caller sees only
projects it is a member of.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from converge_sandbox.infisical.access import project_rules
from converge_sandbox.infisical.auth import authenticate
from converge_sandbox.infisical.routing import RouteSpec, ok
from converge_sandbox.infisical.state import InfisicalState


def project_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    view = dict(doc)
    view["environments"] = [{"id": e["id"], "name": e["name"], "slug": e["slug"]}
                            for e in doc["environments"]]
    return view


def _visible(state: InfisicalState, request: Request, doc: dict[str, Any]) -> dict[str, Any]:
    actor = authenticate(state, request)
    project_rules(state, actor, doc["id"])
    return project_view(doc)


async def list_projects(state: InfisicalState, request: Request) -> Response:
    actor = authenticate(state, request)
    kind = request.query_params.get("type")
    docs = [p for p in state.views("project")
            if p["orgId"] == actor.org_id
            and state.view("project_membership", f"{p['id']}/{actor.identity_id}")
            and (kind in (None, "all") or p["type"] == kind)]
    return ok({"projects": [project_view(p) for p in docs]})


async def get_project(state: InfisicalState, request: Request) -> Response:
    doc = state.project(request.path_params["projectId"])
    return ok({"project": _visible(state, request, doc)})


async def get_workspace(state: InfisicalState, request: Request) -> Response:
    doc = state.project(request.path_params["projectId"])
    return ok({"workspace": _visible(state, request, doc)})


async def get_project_by_slug(state: InfisicalState, request: Request) -> Response:
    doc = state.project_by_slug(request.path_params["slug"])
    return ok({"project": _visible(state, request, doc)})


async def get_workspace_by_slug(state: InfisicalState, request: Request) -> Response:
    doc = state.project_by_slug(request.path_params["slug"])
    return ok(_visible(state, request, doc))


async def get_environment_by_slug(state: InfisicalState, request: Request) -> Response:
    doc = state.project(request.path_params["projectId"])
    _visible(state, request, doc)
    env = state.environment(doc, request.path_params["environmentSlug"])
    return ok({"environment": {**env, "projectId": doc["id"]}})


def routes() -> list[RouteSpec]:
    return [
        ("/api/v1/projects", ["GET"], list_projects),
        ("/api/v1/projects/slug/{slug}", ["GET"], get_project_by_slug),
        ("/api/v1/projects/{projectId}", ["GET"], get_project),
        ("/api/v1/projects/{projectId}/environments/slug/{environmentSlug}", ["GET"],
         get_environment_by_slug),
        ("/api/v1/workspace/{projectId}", ["GET"], get_workspace),
        ("/api/v2/workspace/{slug}", ["GET"], get_workspace_by_slug),
    ]
