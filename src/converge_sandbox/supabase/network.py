"""Connection settings: network restrictions, SSL enforcement and the pooler (Supavisor).

Why: the Terraform provider's ``supabase_settings`` reads and writes ``network`` (GET
``/network-restrictions``, POST ``/network-restrictions/apply``) and ``ssl_enforcement``;
``supabase network-restrictions``/``ssl-enforcement`` do the same and ``supabase db query
--linked`` reads ``/config/database/pooler`` first. Shapes are the service's (its OpenAPI
document and the CLI's recorded answers):

* network restrictions: ``{entitlement, config: {dbAllowedCidrs, dbAllowedCidrsV6},
  status}`` (plus ``applied_at``/``updated_at`` once changed); a new project allows
  ``0.0.0.0/0`` and ``::/0``; ``apply`` replaces the lists and answers 201 ``applied``;
  the alpha ``PATCH`` adds and removes CIDRs and answers the v2 shape (``{address, type}``
  objects, ``old_config``, status ``stored``);
* SSL enforcement: ``{currentConfig: {database}, appliedSuccessfully}``, off for a new
  project; ``PUT {requestedConfig: {database}}``;
* pooler: ``GET`` is an array with the project's ``PRIMARY`` pooler (transaction mode on
  port 6543, user ``postgres.<ref>``); ``PATCH`` takes ``default_pool_size`` (0..3000 or
  null) and ``pool_mode`` (``transaction``|``session``) and answers those two.

The v2 config document (``config.py``) shows the same stored values. Invalid CIDRs are
refused with a 400 (inferred: the service's exact wording is not recorded).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from converge_sandbox.jsontype import json_type
from converge_sandbox.store import Document
from converge_sandbox.supabase.api_keys import iso_time
from converge_sandbox.supabase.errors import bad_request
from converge_sandbox.supabase.http import json_response, read_json, ref_of
from converge_sandbox.supabase.state import get_doc, get_project, put_doc
from converge_sandbox.world import SandboxWorld

_V4, _V6 = "dbAllowedCidrs", "dbAllowedCidrsV6"
_POOL_MODES = ("transaction", "session")
_POOL_SIZE_MAX = 3000


def default_network_restrictions() -> Document:
    return {"config": {_V4: ["0.0.0.0/0"], _V6: ["::/0"]}}


def default_pooler() -> Document:
    return {"default_pool_size": None, "pool_mode": "transaction"}


def render_restrictions(stored: Document) -> Document:
    """``NetworkRestrictionsResponse``."""
    body: Document = {"entitlement": "allowed", "config": stored["config"],
                      "status": "applied"}
    for stamp in ("updated_at", "applied_at"):
        if stamp in stored:
            body[stamp] = stored[stamp]
    return body


def allowed_cidrs(stored: Document) -> list[dict[str, str]]:
    """The restrictions as ``{address, type}`` objects (v2 config and PATCH shape)."""
    config = stored["config"]
    return ([{"address": a, "type": "v4"} for a in config[_V4]]
            + [{"address": a, "type": "v6"} for a in config[_V6]])


def routes(world: SandboxWorld) -> list[Route]:
    def restrictions(ref: str) -> Document:
        return get_doc(world, "network_restrictions", ref, default_network_restrictions())

    async def get_restrictions(request: Request) -> JSONResponse:
        ref = ref_of(request)
        get_project(world, ref)
        return json_response(render_restrictions(restrictions(ref)))

    async def apply_restrictions(request: Request) -> JSONResponse:
        ref = ref_of(request)
        body = await read_json(request)
        get_project(world, ref)
        if not isinstance(body, dict):
            raise bad_request(f"Expected object, received {json_type(body)}")
        config = {_V4: _cidrs(body, _V4, 4), _V6: _cidrs(body, _V6, 6)}
        now = iso_time(world.clock())
        stored = {"config": config, "updated_at": now, "applied_at": now}
        put_doc(world, "network_restrictions", ref, stored)
        return json_response(render_restrictions(stored), status=201)

    async def patch_restrictions(request: Request) -> JSONResponse:
        ref = ref_of(request)
        body = await read_json(request)
        get_project(world, ref)
        if not isinstance(body, dict):
            raise bad_request(f"Expected object, received {json_type(body)}")
        old = restrictions(ref)
        config = {key: list(values) for key, values in old["config"].items()}
        for action in ("add", "remove"):
            change = body.get(action)
            if change is None:
                continue
            if not isinstance(change, dict):
                raise bad_request(f"{action}: Expected object, received {json_type(change)}")
            for key, version in ((_V4, 4), (_V6, 6)):
                for cidr in _cidrs(change, key, version, label=f"{action}.{key}"):
                    if action == "add" and cidr not in config[key]:
                        config[key].append(cidr)
                    elif action == "remove" and cidr in config[key]:
                        config[key].remove(cidr)
        now = iso_time(world.clock())
        stored = {"config": config, "updated_at": now, "applied_at": now}
        put_doc(world, "network_restrictions", ref, stored)
        return json_response({
            "entitlement": "allowed",
            "config": {_V4: allowed_cidrs(stored)},
            "old_config": {_V4: allowed_cidrs(old)},
            "updated_at": now,
            "status": "stored",
        })

    async def get_ssl(request: Request) -> JSONResponse:
        ref = ref_of(request)
        get_project(world, ref)
        stored = get_doc(world, "ssl_enforcement", ref, {"database": False})
        return json_response(_ssl_body(stored))

    async def put_ssl(request: Request) -> JSONResponse:
        ref = ref_of(request)
        body = await read_json(request)
        get_project(world, ref)
        if not isinstance(body, dict):
            raise bad_request(f"Expected object, received {json_type(body)}")
        requested = body.get("requestedConfig")
        if requested is None:
            raise bad_request("requestedConfig: Required")
        if not isinstance(requested, dict):
            raise bad_request(f"requestedConfig: Expected object, received {json_type(requested)}")
        enforced = requested.get("database")
        if enforced is None:
            raise bad_request("requestedConfig.database: Required")
        if not isinstance(enforced, bool):
            raise bad_request(
                f"requestedConfig.database: Expected boolean, received {json_type(enforced)}")
        stored = {"database": enforced}
        put_doc(world, "ssl_enforcement", ref, stored)
        return json_response(_ssl_body(stored))

    async def get_pooler(request: Request) -> JSONResponse:
        ref = ref_of(request)
        project = get_project(world, ref)
        pooler = get_doc(world, "pooler_config", ref, default_pooler())
        host = f"aws-0-{project['region']}.pooler.supabase.com"
        user = f"postgres.{ref}"
        url = f"postgresql://{user}:[YOUR-PASSWORD]@{host}:6543/postgres"
        return json_response([{
            "identifier": ref,
            "database_type": "PRIMARY",
            "is_using_scram_auth": True,
            "db_user": user,
            "db_host": host,
            "db_port": 6543,
            "db_name": "postgres",
            "connection_string": url,
            "connectionString": url,
            "default_pool_size": pooler["default_pool_size"],
            "max_client_conn": None,
            "pool_mode": pooler["pool_mode"],
        }])

    async def patch_pooler(request: Request) -> JSONResponse:
        ref = ref_of(request)
        body = await read_json(request)
        get_project(world, ref)
        pooler = {**get_doc(world, "pooler_config", ref, default_pooler()),
                  **_check_pooler_patch(body)}
        put_doc(world, "pooler_config", ref, pooler)
        return json_response(pooler)

    base = "/v1/projects/{ref}"
    return [
        Route(f"{base}/network-restrictions", get_restrictions, methods=["GET"]),
        Route(f"{base}/network-restrictions", patch_restrictions, methods=["PATCH"]),
        Route(f"{base}/network-restrictions/apply", apply_restrictions, methods=["POST"]),
        Route(f"{base}/ssl-enforcement", get_ssl, methods=["GET"]),
        Route(f"{base}/ssl-enforcement", put_ssl, methods=["PUT"]),
        Route(f"{base}/config/database/pooler", get_pooler, methods=["GET"]),
        Route(f"{base}/config/database/pooler", patch_pooler, methods=["PATCH"]),
    ]


def _ssl_body(stored: Document) -> Document:
    return {"currentConfig": {"database": stored["database"]}, "appliedSuccessfully": True}


def _cidrs(body: dict[str, Any], key: str, version: int, *, label: str = "") -> list[str]:
    """The CIDR list under ``key`` ([] when absent), each a network of IP ``version``."""
    label = label or key
    values = body.get(key, [])
    if not isinstance(values, list):
        raise bad_request(f"{label}: Expected array, received {json_type(values)}")
    for index, value in enumerate(values):
        if not isinstance(value, str):
            raise bad_request(f"{label}.{index}: Expected string, received {json_type(value)}")
        try:
            network = ipaddress.ip_network(value, strict=True)
        except ValueError:
            raise bad_request(f"{label}.{index}: Invalid CIDR '{value}'") from None
        if network.version != version:
            raise bad_request(f"{label}.{index}: '{value}' is not an IPv{version} CIDR")
    return list(values)


def _check_pooler_patch(body: object) -> dict[str, Any]:
    """A validated ``UpdateSupavisorConfigBody`` (unknown keys dropped)."""
    if not isinstance(body, dict):
        raise bad_request(f"Expected object, received {json_type(body)}")
    patch: dict[str, Any] = {}
    if "default_pool_size" in body:
        size = body["default_pool_size"]
        if size is not None:
            if not isinstance(size, int) or isinstance(size, bool):
                raise bad_request(
                    f"default_pool_size: Expected number, received {json_type(size)}")
            if size < 0:
                raise bad_request("default_pool_size: Number must be greater than or equal to 0")
            if size > _POOL_SIZE_MAX:
                raise bad_request("default_pool_size: Number must be less than or equal to "
                                  f"{_POOL_SIZE_MAX}")
        patch["default_pool_size"] = size
    if "pool_mode" in body:
        mode = body["pool_mode"]
        if mode not in _POOL_MODES:
            raise bad_request("pool_mode: Invalid enum value. Expected 'transaction' | "
                              f"'session', received '{mode}'")
        patch["pool_mode"] = mode
    return patch
