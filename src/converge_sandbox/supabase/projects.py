"""Organizations and projects: list, create, get, rename, service health, billing add-ons.

Why these: every client starts from ``GET /v1/projects[/{ref}]`` (``config push`` refuses
to run without it), ``supabase orgs list`` and ``projects create`` read the organizations
and create projects, the Terraform provider's ``supabase_project`` creates one and waits on
``GET /v1/projects/{ref}`` and ``/health`` until it is ``ACTIVE_HEALTHY``, and ``config
push`` reads ``/billing/addons`` and treats a 404 there as fatal.

``POST /v1/projects`` validates ``V1CreateProjectBody`` as the service's schema does
(``additionalProperties: false``: unknown keys are a 400; one of ``region`` and
``region_selection``), answers 201 with ``V1ProjectResponse`` (no ``database``; status
``UNKNOWN``, as the service's recorded answer), and then provisions the project after the
response: its settings, API keys and its own database cloned from the template; until that
is done the project is ``COMING_UP``. ``db_pass`` is not kept: every project database of
the sandbox is reached through the Management API, never with a password.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Mapping
from typing import Any

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from converge_sandbox.jsontype import json_type
from converge_sandbox.supabase.errors import ApiError, bad_request
from converge_sandbox.supabase.http import json_response, read_json, ref_of
from converge_sandbox.supabase.seed import project_doc, put_project_settings
from converge_sandbox.supabase.state import VENDOR, database_info, get_project, put_doc
from converge_sandbox.world import SandboxWorld

_PROJECT_FIELDS = (
    "id", "ref", "organization_id", "organization_slug", "name", "region", "created_at",
    "status", "database",
)
_SERVICES = ("auth", "db", "db_postgres_user", "pooler", "realtime", "rest", "storage",
             "pg_bouncer")
REGIONS = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ap-east-1", "ap-southeast-1",
    "ap-northeast-1", "ap-northeast-2", "ap-southeast-2", "eu-west-1", "eu-west-2",
    "eu-west-3", "eu-north-1", "eu-central-1", "eu-central-2", "ca-central-1", "ap-south-1",
    "sa-east-1",
)
_SMART_GROUPS = {"americas": "us-east-1", "emea": "eu-central-1", "apac": "ap-southeast-1"}
_INSTANCE_SIZES = (
    "nano", "micro", "small", "medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge",
    "12xlarge", "16xlarge", "24xlarge", "24xlarge_optimized_memory", "24xlarge_optimized_cpu",
    "24xlarge_high_memory", "48xlarge", "48xlarge_optimized_memory", "48xlarge_optimized_cpu",
    "48xlarge_high_memory",
)
_CREATE_KEYS = ("db_pass", "name", "organization_id", "organization_slug", "plan", "region",
                "region_selection", "kps_enabled", "desired_instance_size", "template_url")
_SLUG = re.compile(r"^[\w-]+$")
_NO_ACCESS = "Your account does not have the necessary privileges to access this endpoint."


def render_project(project: Mapping[str, Any]) -> dict[str, Any]:
    """``V1ProjectWithDatabaseResponse``: the stored project without its secrets."""
    return {field: project[field] for field in _PROJECT_FIELDS}


def parse_create_body(body: object) -> tuple[str, str, str]:
    """(name, organization slug, region) of a valid ``V1CreateProjectBody``."""
    if not isinstance(body, dict):
        raise bad_request(f"Expected object, received {json_type(body)}")
    unknown = [key for key in body if key not in _CREATE_KEYS]
    if unknown:
        raise bad_request("Unrecognized key(s) in object: "
                          + ", ".join(f"'{key}'" for key in unknown))
    for key in ("db_pass", "name", "organization_slug"):
        if key not in body:
            raise bad_request(f"{key}: Required")
    for key in ("db_pass", "name", "organization_slug", "organization_id", "template_url"):
        if key in body and not isinstance(body[key], str):
            raise bad_request(f"{key}: Expected string, received {json_type(body[key])}")
    if len(body["name"]) > 256:
        raise bad_request("name: String must contain at most 256 character(s)")
    if not _SLUG.match(body["organization_slug"]):
        raise bad_request("organization_slug: Invalid")
    for key, allowed in (("plan", ("free", "pro")), ("desired_instance_size", _INSTANCE_SIZES)):
        if key in body:
            _check_enum(body[key], key, allowed)
    if "kps_enabled" in body and not isinstance(body["kps_enabled"], bool):
        raise bad_request(
            f"kps_enabled: Expected boolean, received {json_type(body['kps_enabled'])}")
    return body["name"], body["organization_slug"], _region(body)


def _region(body: dict[str, Any]) -> str:
    if "region" in body and "region_selection" in body:
        raise bad_request("Only one of region or region_selection can be specified")
    if "region" in body:
        return _check_enum(body["region"], "region", REGIONS)
    selection = body.get("region_selection")
    if selection is None:
        raise bad_request("region_selection: Required")
    if not isinstance(selection, dict):
        raise bad_request(f"region_selection: Expected object, received {json_type(selection)}")
    kind = selection.get("type")
    if kind in ("specific", "smartGroup") and "code" not in selection:
        raise bad_request("region_selection.code: Required")
    if kind == "specific":
        return _check_enum(selection["code"], "region_selection.code", REGIONS)
    if kind == "smartGroup":
        group = _check_enum(selection["code"], "region_selection.code", tuple(_SMART_GROUPS))
        return _SMART_GROUPS[group]
    raise bad_request("region_selection.type: Invalid discriminator value. Expected "
                      "'specific' | 'smartGroup'")


def _check_enum(value: object, label: str, allowed: tuple[str, ...]) -> str:
    """``value`` when it is one of ``allowed``; the zod-style 400 otherwise."""
    if not isinstance(value, str) or value not in allowed:
        expected = " | ".join(f"'{option}'" for option in allowed)
        raise bad_request(f"{label}: Invalid enum value. Expected {expected}, received '{value}'")
    return value


def new_ref(taken: set[str]) -> str:
    """A project ref as the service makes them: 20 lowercase letters."""
    while True:
        ref = "".join(secrets.choice(string.ascii_lowercase) for _ in range(20))
        if ref not in taken:
            return ref


def routes(world: SandboxWorld) -> list[Route]:
    async def list_organizations(request: Request) -> JSONResponse:
        organizations = world.store.views(VENDOR, "organization")
        return json_response([{key: org[key] for key in ("id", "slug", "name")}
                              for org in organizations])

    def provision(ref: str) -> None:
        """Make the new project's database, then report the project healthy."""
        if world.database is not None:
            world.database.database_url(ref)
        project = get_project(world, ref)
        project["status"] = "ACTIVE_HEALTHY"
        put_doc(world, "project", ref, project)

    async def create_project(request: Request) -> JSONResponse:
        name, slug, region = parse_create_body(await read_json(request))
        organization = world.store.get(VENDOR, "organization", slug)
        if organization is None:
            raise ApiError(403, _NO_ACCESS)
        projects = world.store.views(VENDOR, "project")
        ref = new_ref({p["ref"] for p in projects})
        number = max((int(p.get("numeric_id", 0)) for p in projects), default=0) + 1
        project = project_doc(ref=ref, name=name, region=region, organization=organization,
                              number=number, now=world.clock(), status="COMING_UP")
        project["database"] = await run_in_threadpool(database_info, world, ref)
        put_doc(world, "project", ref, project)
        put_project_settings(world, ref, project)
        body = {field: project[field] for field in _PROJECT_FIELDS if field != "database"}
        body["status"] = "UNKNOWN"
        return JSONResponse(body, status_code=201,
                            background=BackgroundTask(run_in_threadpool, provision, ref))

    async def list_projects(request: Request) -> JSONResponse:
        projects = world.store.views(VENDOR, "project")
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
        project = get_project(world, ref_of(request))
        wanted = [s for part in request.query_params.getlist("services")
                  for s in part.split(",") if s]
        if not wanted:
            raise bad_request("services: Required")
        unknown = [s for s in wanted if s not in _SERVICES]
        if unknown:
            raise bad_request(f"services: Invalid enum value, received '{unknown[0]}'")
        up = project["status"] == "ACTIVE_HEALTHY"
        status = "ACTIVE_HEALTHY" if up else "COMING_UP"
        return json_response([{"name": s, "healthy": up, "status": status} for s in wanted])

    async def addons(request: Request) -> JSONResponse:
        get_project(world, ref_of(request))
        return json_response({"selected_addons": [], "available_addons": []})

    return [
        Route("/v1/organizations", list_organizations, methods=["GET"]),
        Route("/v1/projects", list_projects, methods=["GET"]),
        Route("/v1/projects", create_project, methods=["POST"]),
        Route("/v1/projects/{ref}", get_one, methods=["GET"]),
        Route("/v1/projects/{ref}", rename, methods=["PATCH"]),
        Route("/v1/projects/{ref}/health", health, methods=["GET"]),
        Route("/v1/projects/{ref}/billing/addons", addons, methods=["GET"]),
    ]
