"""Project configuration endpoints: auth, PostgREST, storage, v2 config.

Why the v2 document: ``supabase config push``/``diff`` (CLI 2.117) read the whole remote
config only from ``GET /v2/projects/{ref}/config`` and then PATCH what differs through the
v1 endpoints, so both views are built from the same stored documents here (Postgres
settings: ``pgconfig``; SSL, network restrictions and pooler: ``network``); a second push
of the same ``config.toml`` therefore sends nothing.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from converge_sandbox.store import Document
from converge_sandbox.supabase.auth_config import (
    apply_auth_patch,
    default_auth_config,
    render_auth_config,
)
from converge_sandbox.supabase.errors import bad_request
from converge_sandbox.supabase.http import json_response, read_json, ref_of
from converge_sandbox.supabase.network import (
    allowed_cidrs,
    default_network_restrictions,
    default_pooler,
)
from converge_sandbox.supabase.state import (
    deep_merge,
    default_postgrest,
    default_storage,
    get_doc,
    get_project,
    put_doc,
)
from converge_sandbox.world import SandboxWorld

_POSTGREST_LIMITS = {"max_rows": (0, 1_000_000), "db_pool": (0, 1000)}


def routes(world: SandboxWorld) -> list[Route]:
    def auth_config(ref: str) -> Document:
        return get_doc(world, "auth_config", ref, default_auth_config())

    async def get_auth(request: Request) -> JSONResponse:
        ref = ref_of(request)
        get_project(world, ref)
        return json_response(render_auth_config(ref, auth_config(ref)))

    async def patch_auth(request: Request) -> JSONResponse:
        ref = ref_of(request)
        body = await read_json(request)  # before reading state: no await between read/write
        get_project(world, ref)
        merged = apply_auth_patch(auth_config(ref), body)
        put_doc(world, "auth_config", ref, merged)
        return json_response(render_auth_config(ref, merged))

    async def get_postgrest(request: Request) -> JSONResponse:
        ref = ref_of(request)
        project = get_project(world, ref)
        body = dict(get_doc(world, "postgrest", ref, default_postgrest()))
        body["jwt_secret"] = project["jwt_secret"]
        return json_response(body)

    async def patch_postgrest(request: Request) -> JSONResponse:
        ref = ref_of(request)
        patch = _check_postgrest_patch(await read_json(request))
        get_project(world, ref)
        merged = {**get_doc(world, "postgrest", ref, default_postgrest()), **patch}
        put_doc(world, "postgrest", ref, merged)
        return json_response(merged)

    async def get_storage(request: Request) -> JSONResponse:
        ref = ref_of(request)
        get_project(world, ref)
        return json_response(_storage_v1(get_doc(world, "storage_config", ref,
                                                 default_storage())))

    async def patch_storage(request: Request) -> JSONResponse:
        ref = ref_of(request)
        patch = await read_json(request)
        get_project(world, ref)
        if not isinstance(patch, dict):
            raise bad_request("Expected object")
        snake = _snake_keys(patch)
        external = snake.pop("external", None)
        if isinstance(external, dict) and "upstream_target" in external:
            snake["upstream_target"] = external["upstream_target"]
        stored = deep_merge(get_doc(world, "storage_config", ref, default_storage()), snake)
        put_doc(world, "storage_config", ref, stored)
        return json_response(_storage_v1(stored))

    async def get_v2_config(request: Request) -> JSONResponse:
        ref = ref_of(request)
        project = get_project(world, ref)
        postgrest = get_doc(world, "postgrest", ref, default_postgrest())
        restrictions = get_doc(world, "network_restrictions", ref,
                               default_network_restrictions())
        pooler = get_doc(world, "pooler_config", ref, default_pooler())
        attributes = {
            "database": {
                "major_version": int(project["database"]["postgres_engine"] or 0),
                "ssl_enforced": get_doc(world, "ssl_enforcement", ref,
                                        {"database": False})["database"],
                "network_restrictions": {
                    "entitlement": "allowed", "status": "applied",
                    "allowed_cidrs": allowed_cidrs(restrictions),
                    "updated_at": restrictions.get("updated_at", project["created_at"]),
                    "applied_at": restrictions.get("applied_at", project["created_at"]),
                },
                "postgres_settings": get_doc(world, "postgres_config", ref, {}),
            },
            "pooler": {
                "pool_mode": pooler["pool_mode"], "ignore_startup_parameters": "",
                "server_idle_timeout": 600, "server_lifetime": 3600, "query_wait_timeout": 120,
                "reserve_pool_size": 0, "default_pool_size": pooler["default_pool_size"] or 15,
                "max_client_conn": 200,
            },
            "auth": render_auth_config(ref, auth_config(ref)),
            "api": {**postgrest, "db_pool_acquisition_timeout": 10},
            "realtime": {
                "private_only": False, "max_concurrent_users": 200,
                "max_events_per_second": 100, "max_bytes_per_second": 100000,
                "max_channels_per_client": 100, "max_joins_per_second": 100,
                "max_presence_events_per_second": 100, "max_payload_size_in_kb": 100,
                "presence_enabled": True, "suspend": False, "connection_pool": 2,
                "postgres_changes_pool": None,
            },
            "storage": get_doc(world, "storage_config", ref, default_storage()),
        }
        return json_response(
            {"data": {"type": "project_config", "id": ref, "attributes": attributes}}
        )

    base = "/v1/projects/{ref}"
    return [
        Route(f"{base}/config/auth", get_auth, methods=["GET"]),
        Route(f"{base}/config/auth", patch_auth, methods=["PATCH"]),
        Route(f"{base}/postgrest", get_postgrest, methods=["GET"]),
        Route(f"{base}/postgrest", patch_postgrest, methods=["PATCH"]),
        Route(f"{base}/config/storage", get_storage, methods=["GET"]),
        Route(f"{base}/config/storage", patch_storage, methods=["PATCH"]),
        Route("/v2/projects/{ref}/config", get_v2_config, methods=["GET"]),
    ]


def _check_postgrest_patch(body: object) -> dict[str, Any]:
    """A validated ``V1UpdatePostgrestConfigBody`` (unknown keys dropped)."""
    if not isinstance(body, dict):
        raise bad_request("Expected object")
    patch: dict[str, Any] = {}
    for name in ("db_schema", "db_extra_search_path"):
        if name in body:
            if not isinstance(body[name], str):
                raise bad_request(f"{name}: Expected string")
            patch[name] = body[name]
    for name, (low, high) in _POSTGREST_LIMITS.items():
        if name in body:
            value = body[name]
            if not isinstance(value, int) or isinstance(value, bool):
                raise bad_request(f"{name}: Expected number")
            if not low <= value <= high:
                raise bad_request(f"{name}: Number must be between {low} and {high}")
            patch[name] = value
    return patch


def _snake_keys(value: Any) -> Any:
    """camelCase keys (v1 storage body) to snake_case (v2 shape), recursively."""
    if isinstance(value, dict):
        return {re.sub(r"(?<!^)([A-Z])", r"_\1", k).lower(): _snake_keys(v)
                for k, v in value.items()}
    return value


def _camel_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), k): _camel_keys(v)
                for k, v in value.items()}
    return value


def _storage_v1(stored: Document) -> Any:
    """The v1 storage config body (camelCase, upstream target under ``external``)."""
    body = {k: v for k, v in stored.items() if k != "upstream_target"}
    body["external"] = {"upstream_target": stored.get("upstream_target", "main")}
    return _camel_keys(body)
