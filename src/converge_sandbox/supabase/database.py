"""Database endpoints: the SQL query endpoints and the RLS security advisors.

Why here: they are the only endpoints that touch the project's real PostgreSQL database;
without a database provider they answer 500 as the vendor does when it cannot run a query.
As on the service, ``/database/query`` runs as the non-superuser ``postgres``
(``world.database.database_url``), and ``/database/query/read-only`` (or ``read_only:
true``) as ``supabase_read_only_user`` (``read_only_url``), a role holding no write
privilege at all, so not even ``BEGIN READ WRITE`` lets it change anything.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from converge_sandbox.supabase.errors import ApiError, bad_request
from converge_sandbox.supabase.http import json_response, read_json, ref_of
from converge_sandbox.supabase.query import run_query
from converge_sandbox.supabase.state import default_postgrest, get_doc, get_project
from converge_sandbox.world import SandboxWorld

# The schemas Supabase's linter never reports on (splinter's exclusion list).
SYSTEM_SCHEMAS = (
    "_timescaledb_cache", "_timescaledb_catalog", "_timescaledb_config",
    "_timescaledb_internal", "auth", "cron", "extensions", "graphql", "graphql_public",
    "information_schema", "net", "pgmq", "pgroonga", "pgsodium", "pgsodium_masks", "pgtle",
    "pgbouncer", "pg_catalog", "realtime", "repack", "storage", "supabase_functions",
    "supabase_migrations", "tiger", "topology", "vault", "pg_toast",
)

_FAILURE = "Failed to run sql query"
_READ_ONLY_FAILURE = "Failed to run read-only sql query"

_TABLES_SQL = """
select n.nspname as schema, c.relname as name, c.relrowsecurity as rls,
       exists (select 1 from pg_policy p where p.polrelid = c.oid) as has_policy,
       coalesce((select string_agg(p.polname, ', ' order by p.polname)
                 from pg_policy p where p.polrelid = c.oid), '') as policies,
       (exists (select 1 from pg_roles where rolname = 'anon')
          and has_table_privilege('anon', c.oid, 'SELECT'))
       or (exists (select 1 from pg_roles where rolname = 'authenticated')
          and has_table_privilege('authenticated', c.oid, 'SELECT')) as exposed
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where c.relkind = 'r'
  and n.nspname <> all($1::text[])
  and n.nspname not like 'pg_temp_%'
  and not exists (select 1 from pg_depend d where d.objid = c.oid and d.deptype = 'e')
order by 1, 2
"""


def _parse_query_body(body: object) -> tuple[str, list[Any] | None, bool]:
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        raise bad_request("query: Required")
    query: str = body["query"]
    if not query:
        raise bad_request("query: String must contain at least 1 character(s)")
    parameters = body.get("parameters")
    if parameters is not None and not isinstance(parameters, list):
        raise bad_request("parameters: Expected array")
    return query, parameters, bool(body.get("read_only", False))


def security_lints(rows: list[dict[str, Any]], exposed_schemas: set[str]) -> list[dict[str, Any]]:
    """Splinter's RLS lints 0013, 0007 and 0008 over the rows of ``_TABLES_SQL``."""
    lints: list[dict[str, Any]] = []
    for row in rows:
        schema, name = row["schema"], row["name"]
        entity = f"{schema}.{name}"
        if not row["rls"] and row["exposed"] and schema in exposed_schemas:
            lints.append(_lint(
                "rls_disabled_in_public", "RLS Disabled in Public", "ERROR", schema, name,
                f"Table `{entity}` is public, but RLS has not been enabled.",
            ))
        if not row["rls"] and row["has_policy"]:
            lints.append(_lint(
                "policy_exists_rls_disabled", "Policy Exists RLS Disabled", "ERROR", schema,
                name,
                f"Table `{entity}` has RLS policies but RLS is not enabled on the table. "
                f"Policies include {{{row['policies']}}}.",
            ))
        if row["rls"] and not row["has_policy"]:
            lints.append(_lint(
                "rls_enabled_no_policy", "RLS Enabled No Policy", "INFO", schema, name,
                f"Table `{entity}` has RLS enabled, but no policies exist",
            ))
    return lints


def _lint(lint: str, title: str, level: str, schema: str, name: str,
          detail: str) -> dict[str, Any]:
    return {
        "name": lint,
        "title": title,
        "level": level,
        "facing": "EXTERNAL",
        "categories": ["SECURITY"],
        "description": title,
        "detail": detail,
        "remediation": f"https://supabase.com/docs/guides/database/database-linter?lint={lint}",
        "metadata": {"schema": schema, "name": name, "type": "table"},
        "cache_key": f"{lint}_{schema}_{name}",
    }


def routes(world: SandboxWorld) -> list[Route]:
    def database_url(ref: str, *, read_only: bool, failure: str) -> str:
        get_project(world, ref)
        if world.database is None:
            raise ApiError(500, failure)
        if read_only:
            return world.database.read_only_url(ref)
        return world.database.database_url(ref)

    async def run_body(request: Request, *, always_read_only: bool) -> JSONResponse:
        ref = ref_of(request)
        get_project(world, ref)
        sql, parameters, read_only = _parse_query_body(await read_json(request))
        read_only = read_only or always_read_only
        failure = _READ_ONLY_FAILURE if always_read_only else _FAILURE
        url = await run_in_threadpool(database_url, ref, read_only=read_only, failure=failure)
        rows = await run_in_threadpool(
            run_query, url, sql, parameters=parameters, read_only=read_only, failure=failure
        )
        return json_response(rows, status=201)

    async def query(request: Request) -> JSONResponse:
        return await run_body(request, always_read_only=False)

    async def read_only_query(request: Request) -> JSONResponse:
        """The read-only endpoint ignores the body's ``read_only``: it always is."""
        return await run_body(request, always_read_only=True)

    async def security_advisors(request: Request) -> JSONResponse:
        ref = ref_of(request)
        url = await run_in_threadpool(database_url, ref, read_only=True, failure=_FAILURE)
        postgrest = get_doc(world, "postgrest", ref, default_postgrest())
        exposed = {s.strip() for s in str(postgrest["db_schema"]).split(",") if s.strip()}
        rows = await run_in_threadpool(
            run_query, url, _TABLES_SQL, parameters=[list(SYSTEM_SCHEMAS)], read_only=True
        )
        return json_response({"lints": security_lints(rows, exposed)})

    base = "/v1/projects/{ref}"
    return [
        Route(f"{base}/database/query", query, methods=["POST"]),
        Route(f"{base}/database/query/read-only", read_only_query, methods=["POST"]),
        Route(f"{base}/advisors/security", security_advisors, methods=["GET"]),
    ]
