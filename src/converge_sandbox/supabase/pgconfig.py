"""``GET``/``PUT /v1/projects/{ref}/config/database/postgres``: the project's Postgres settings.

Why validated and applied: the service's ``UpdatePostgresConfigBody`` has a fixed set of
typed keys and ``additionalProperties: false``, so an unknown key or a wrong type is a 400
there; a sandbox that stored anything would let a typo pass here and fail in production.
What it accepts it applies: settings a database may carry (``statement_timeout``,
``work_mem``, … — PostgreSQL's ``user``/``superuser`` contexts) become ``ALTER DATABASE …
SET`` on the project's database, so a new session sees them; settings of the whole server
(``max_connections``, ``shared_buffers``, …) would touch every project of the shared
sandbox server and need a restart, so they are stored and reported back, not applied.

The PUT body replaces the whole set of overrides (``postgres-config delete`` sends the map
without the key; the service answers ``{}`` after an empty PUT); ``restart_database`` is a
flag, never stored. A value PostgreSQL refuses (``work_mem: "lots"``) is a 400 and nothing
changes.
"""

from __future__ import annotations

from typing import Any

import psycopg
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from converge_sandbox.jsontype import json_type
from converge_sandbox.supabase.auth_config import check_value
from converge_sandbox.supabase.auth_fields import FieldSpec
from converge_sandbox.supabase.errors import bad_request
from converge_sandbox.supabase.http import json_response, read_json, ref_of
from converge_sandbox.supabase.state import get_doc, get_project, put_doc
from converge_sandbox.world import SandboxWorld

_DURATION = r"^(-?[0-9]+(?:\.[0-9]+)?)(us|ms|s|min|h|d)?$"
_INT_MAX = 2147483640

# UpdatePostgresConfigBody, in the OpenAPI document's order.
FIELDS: dict[str, FieldSpec] = {spec.name: spec for spec in (
    FieldSpec("effective_cache_size", "string", nullable=False),
    FieldSpec("logical_decoding_work_mem", "string", nullable=False),
    FieldSpec("maintenance_work_mem", "string", nullable=False),
    FieldSpec("track_activity_query_size", "string", nullable=False),
    FieldSpec("max_connections", "integer", nullable=False, minimum=1, maximum=262143),
    FieldSpec("max_locks_per_transaction", "integer", nullable=False, minimum=10,
              maximum=_INT_MAX),
    FieldSpec("max_parallel_maintenance_workers", "integer", nullable=False, minimum=0,
              maximum=1024),
    FieldSpec("max_parallel_workers", "integer", nullable=False, minimum=0, maximum=1024),
    FieldSpec("max_parallel_workers_per_gather", "integer", nullable=False, minimum=0,
              maximum=1024),
    FieldSpec("max_replication_slots", "integer", nullable=False),
    FieldSpec("max_slot_wal_keep_size", "string", nullable=False),
    FieldSpec("max_standby_archive_delay", "string", nullable=False),
    FieldSpec("max_standby_streaming_delay", "string", nullable=False),
    FieldSpec("max_wal_size", "string", nullable=False),
    FieldSpec("max_wal_senders", "integer", nullable=False),
    FieldSpec("max_worker_processes", "integer", nullable=False, minimum=0, maximum=262143),
    FieldSpec("session_replication_role", "string", nullable=False,
              enum=("origin", "replica", "local")),
    FieldSpec("shared_buffers", "string", nullable=False),
    FieldSpec("statement_timeout", "string", nullable=False, pattern=_DURATION),
    FieldSpec("track_commit_timestamp", "boolean", nullable=False),
    FieldSpec("wal_keep_size", "string", nullable=False),
    FieldSpec("wal_sender_timeout", "string", nullable=False, pattern=_DURATION),
    FieldSpec("work_mem", "string", nullable=False),
    FieldSpec("checkpoint_timeout", "string", nullable=False, pattern=_DURATION),
    FieldSpec("hot_standby_feedback", "boolean", nullable=False),
)}
_FLAGS = {"restart_database": FieldSpec("restart_database", "boolean", nullable=False)}


def parse_update(body: object) -> dict[str, Any]:
    """The overrides of an ``UpdatePostgresConfigBody`` (400 ``ApiError`` otherwise)."""
    if not isinstance(body, dict):
        raise bad_request(f"Expected object, received {json_type(body)}")
    unknown = [key for key in body if key not in FIELDS and key not in _FLAGS]
    if unknown:
        listed = ", ".join(f"'{key}'" for key in unknown)
        raise bad_request(f"Unrecognized key(s) in object: {listed}")
    for key, value in body.items():
        problem = check_value(FIELDS.get(key) or _FLAGS[key], value)
        if problem:
            raise bad_request(f"{key}: {problem}")
    return {key: value for key, value in body.items() if key in FIELDS}


def setting_text(value: object) -> str:
    """A JSON value as PostgreSQL's text for ``SET`` (booleans as on/off)."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def routes(world: SandboxWorld) -> list[Route]:
    async def get_postgres(request: Request) -> JSONResponse:
        ref = ref_of(request)
        get_project(world, ref)
        return json_response(get_doc(world, "postgres_config", ref, {}))

    async def put_postgres(request: Request) -> JSONResponse:
        ref = ref_of(request)
        body = await read_json(request)
        get_project(world, ref)
        settings = parse_update(body)
        if world.database is not None:
            text = {key: setting_text(value) for key, value in settings.items()}
            try:
                await run_in_threadpool(world.database.set_database_settings, ref, text)
            except psycopg.Error as exc:
                raise bad_request(_setting_problem(exc)) from None
        put_doc(world, "postgres_config", ref, settings)
        return json_response(settings)

    base = "/v1/projects/{ref}"
    return [
        Route(f"{base}/config/database/postgres", get_postgres, methods=["GET"]),
        Route(f"{base}/config/database/postgres", put_postgres, methods=["PUT"]),
    ]


def _setting_problem(exc: psycopg.Error) -> str:
    message = exc.diag.message_primary or "invalid value"
    hint = exc.diag.message_hint
    return f"{message} ({hint})" if hint else message
