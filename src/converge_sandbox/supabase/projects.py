"""Projects: list, get, rename, service health and billing add-ons.

Why these: every client starts from ``GET /v1/projects[/{ref}]`` (``config push`` refuses
to run without it), the Terraform provider waits on ``/health``, and ``config push`` reads
``/billing/addons`` and treats a 404 there as fatal.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from converge_sandbox.store import Document
from converge_sandbox.supabase.errors import bad_request
from converge_sandbox.supabase.http import json_response, read_json, ref_of
from converge_sandbox.supabase.state import VENDOR, get_project, put_doc
from converge_sandbox.world import SandboxWorld

_PROJECT_FIELDS = (
    "id", "ref", "organization_id", "organization_slug", "name", "region", "created_at",
    "status", "database",
)
_SERVICES = ("auth", "db", "db_postgres_user", "pooler", "realtime", "rest", "storage",
             "pg_bouncer")


def render_project(project: Document) -> dict[str, Any]:
    """``V1ProjectWithDatabaseResponse``: the stored project without its secrets."""
    return {field: project[field] for field in _PROJECT_FIELDS}


def routes(world: SandboxWorld) -> list[Route]:
    async def list_projects(request: Request) -> JSONResponse:
        projects = world.store.list(VENDOR, "project")
        return json_response([render_project(p) for p in projects])

    async def get_one(request: Request) -> JSONResponse:
        return json_response(render_project(get_project(world, ref_of(request))))

    async def rename(request: Request) -> JSONResponse:
        ref = ref_of(request)
        body = await read_json(request)
        project = get_project(world, ref)
        name = body.get("name") if isinstance(body, dict) else None
        if not isinstance(name, str) or not 1 <= len(name) <= 256:
            raise bad_request("name: Required")
        project["name"] = name
        put_doc(world, "project", ref, project)
        return json_response({"id": project["numeric_id"], "ref": ref, "name": name})

    async def health(request: Request) -> JSONResponse:
        get_project(world, ref_of(request))
        wanted = [s for part in request.query_params.getlist("services")
                  for s in part.split(",") if s]
        if not wanted:
            raise bad_request("services: Required")
        unknown = [s for s in wanted if s not in _SERVICES]
        if unknown:
            raise bad_request(f"services: Invalid enum value, received '{unknown[0]}'")
        return json_response(
            [{"name": s, "healthy": True, "status": "ACTIVE_HEALTHY"} for s in wanted]
        )

    async def addons(request: Request) -> JSONResponse:
        get_project(world, ref_of(request))
        return json_response({"selected_addons": [], "available_addons": []})

    return [
        Route("/v1/projects", list_projects, methods=["GET"]),
        Route("/v1/projects/{ref}", get_one, methods=["GET"]),
        Route("/v1/projects/{ref}", rename, methods=["PATCH"]),
        Route("/v1/projects/{ref}/health", health, methods=["GET"]),
        Route("/v1/projects/{ref}/billing/addons", addons, methods=["GET"]),
    ]
