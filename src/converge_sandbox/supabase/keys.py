"""API key and Edge Function secret endpoints.

Why both here: they are the project's credentials. ``projects api-keys`` (CLI) and
converge's variable publishing read ``/api-keys``; ``supabase secrets`` manage function
secrets, whose list shows a SHA-256 digest of each value instead of the value.
"""

from __future__ import annotations

import hashlib

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from converge_sandbox.store import Document
from converge_sandbox.supabase.api_keys import (
    check_name,
    default_keys,
    is_true,
    iso_time,
    new_key,
    parse_create_body,
    render_key,
)
from converge_sandbox.supabase.errors import ApiError, bad_request
from converge_sandbox.supabase.http import json_response, read_json, ref_of
from converge_sandbox.supabase.state import VENDOR, get_doc, get_project, put_doc
from converge_sandbox.world import SandboxWorld


def ensure_keys(world: SandboxWorld, ref: str, project: Document) -> list[Document]:
    """The project's keys, creating the default set the first time (only once: keys
    deleted later stay deleted)."""
    if not project.get("keys_initialized"):
        for key in default_keys(ref=ref, jwt_secret=project["jwt_secret"], now=world.clock()):
            put_doc(world, "api_key", f"{ref}/{key['id']}", key)
        put_doc(world, "project", ref, {**project, "keys_initialized": True})
    return world.store.list(VENDOR, "api_key", prefix=f"{ref}/")


def routes(world: SandboxWorld) -> list[Route]:
    def find_key(request: Request) -> tuple[str, Document]:
        ref = ref_of(request)
        ensure_keys(world, ref, get_project(world, ref))
        key_id = request.path_params["id"]
        key = world.store.get(VENDOR, "api_key", f"{ref}/{key_id}")
        if key is None:
            raise ApiError(404, "API key not found")
        return ref, key

    def reveal(request: Request) -> bool:
        return is_true(request.query_params.get("reveal"))

    async def list_keys(request: Request) -> JSONResponse:
        ref = ref_of(request)
        keys = ensure_keys(world, ref, get_project(world, ref))
        return json_response([render_key(k, reveal=reveal(request)) for k in keys])

    async def create_key(request: Request) -> JSONResponse:
        ref = ref_of(request)
        name, kind, description, template = parse_create_body(await read_json(request))
        ensure_keys(world, ref, get_project(world, ref))
        key = new_key(name=name, kind=kind, description=description, template=template,
                      now=world.clock())
        put_doc(world, "api_key", f"{ref}/{key['id']}", key)
        return json_response(render_key(key, reveal=reveal(request)), status=201)

    async def get_key(request: Request) -> JSONResponse:
        _, key = find_key(request)
        return json_response(render_key(key, reveal=reveal(request)))

    async def update_key(request: Request) -> JSONResponse:
        body = await read_json(request)
        ref, key = find_key(request)
        if not isinstance(body, dict):
            raise bad_request("Expected object")
        if "name" in body:
            key["name"] = check_name(body["name"])
        if "description" in body:
            key["description"] = body["description"]
        if "secret_jwt_template" in body and key["type"] == "secret":
            key["secret_jwt_template"] = body["secret_jwt_template"]
        key["updated_at"] = iso_time(world.clock())
        put_doc(world, "api_key", f"{ref}/{key['id']}", key)
        return json_response(render_key(key, reveal=reveal(request)))

    async def delete_key(request: Request) -> JSONResponse:
        ref, key = find_key(request)
        world.store.delete(VENDOR, "api_key", f"{ref}/{key['id']}")
        return json_response(render_key(key, reveal=reveal(request)))

    async def get_legacy(request: Request) -> JSONResponse:
        ref = ref_of(request)
        get_project(world, ref)
        return json_response(get_doc(world, "legacy_api_keys", ref, {"enabled": True}))

    async def put_legacy(request: Request) -> JSONResponse:
        ref = ref_of(request)
        get_project(world, ref)
        flag = request.query_params.get("enabled")
        if flag not in ("true", "false"):
            raise bad_request("enabled: Required")
        doc = {"enabled": flag == "true"}
        put_doc(world, "legacy_api_keys", ref, doc)
        return json_response(doc)

    async def list_secrets(request: Request) -> JSONResponse:
        ref = ref_of(request)
        get_project(world, ref)
        secrets = world.store.list(VENDOR, "secret", prefix=f"{ref}/")
        return json_response([
            {"name": s["name"], "value": hashlib.sha256(s["value"].encode()).hexdigest(),
             "updated_at": s["updated_at"]}
            for s in secrets
        ])

    async def set_secrets(request: Request) -> JSONResponse:
        ref = ref_of(request)
        get_project(world, ref)
        body = await read_json(request)
        if not isinstance(body, list) or not all(
            isinstance(s, dict) and isinstance(s.get("name"), str)
            and isinstance(s.get("value"), str) for s in body
        ):
            raise bad_request("Expected array of {name, value}")
        for item in body:
            put_doc(world, "secret", f"{ref}/{item['name']}",
                    {"name": item["name"], "value": item["value"],
                     "updated_at": iso_time(world.clock())})
        return json_response({}, status=201)

    async def delete_secrets(request: Request) -> JSONResponse:
        ref = ref_of(request)
        get_project(world, ref)
        body = await read_json(request)
        if not isinstance(body, list) or not all(isinstance(n, str) for n in body):
            raise bad_request("Expected array of secret names")
        for name in body:
            world.store.delete(VENDOR, "secret", f"{ref}/{name}")
        return json_response({})

    base = "/v1/projects/{ref}"
    return [
        Route(f"{base}/api-keys", list_keys, methods=["GET"]),
        Route(f"{base}/api-keys", create_key, methods=["POST"]),
        Route(f"{base}/api-keys/legacy", get_legacy, methods=["GET"]),
        Route(f"{base}/api-keys/legacy", put_legacy, methods=["PUT"]),
        Route(f"{base}/api-keys/{{id}}", get_key, methods=["GET"]),
        Route(f"{base}/api-keys/{{id}}", update_key, methods=["PATCH"]),
        Route(f"{base}/api-keys/{{id}}", delete_key, methods=["DELETE"]),
        Route(f"{base}/secrets", list_secrets, methods=["GET"]),
        Route(f"{base}/secrets", set_secrets, methods=["POST"]),
        Route(f"{base}/secrets", delete_secrets, methods=["DELETE"]),
    ]
