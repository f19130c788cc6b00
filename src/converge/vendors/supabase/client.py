"""Typed calls to the Supabase Management API (and, optionally, straight to Postgres).

Credentials and base URL come from the environment (architecture §5): ``SUPABASE_ACCESS_TOKEN``
(bearer; a 401 becomes ``VendorAuthError`` naming it, exit 4; a project's key in its place
is refused before any request, see ``credentials``), ``SUPABASE_API_URL``
(default ``https://api.supabase.com``) and, for direct database work, ``SUPABASE_DB_URL``:
a libpq URL template where ``{ref}`` stands for the project ref, or one plain URL, which
then serves a single project. Without it, SQL goes through ``POST database/query``.

Pacing: the vendor allows 120 requests per minute per user, project and endpoint
(supabase-api.md §5), so each (endpoint, ref) pair has its own token bucket, taken once
per call; ``VendorHttp``'s own budget is off and its retries honour ``Retry-After`` and the
vendor's ``X-RateLimit-Reset`` (seconds).

Nothing here logs or raises with a key, a token, a database URL or a request body.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
from psycopg.rows import dict_row

from converge.errors import ConvergeError, VendorAuthError, VendorError
from converge.vendors.http import (
    RateBudget,
    RequestCounter,
    Transport,
    VendorHttp,
    api_path,
    bearer_http_from_environment,
    comma_list,
    json_object,
)
from converge.vendors.supabase.credentials import (
    MANAGEMENT_API,
    TOKEN_VARIABLE,
    URL_VARIABLE,
    VENDOR,
    check_management_credentials,
)
from converge.vendors.supabase.wire import (
    API_KEYS,
    AUTH_CONFIG,
    ROWS,
    ApiKey,
    PostgrestConfig,
    Project,
)

DB_URL_VARIABLE = "SUPABASE_DB_URL"
DEFAULT_API_URL = MANAGEMENT_API
RATE_LIMIT = 120  # per minute, user, project and endpoint (supabase-api.md §5)
DB_VENDOR = "supabase-db"  # how direct database statements are counted
_AUTH_SQLSTATES = frozenset({"28000", "28P01"})


def error_message(response: httpx.Response) -> str:
    """The vendor's ``{"message": …}`` (messages name fields, never values)."""
    message = json_object(response).get("message")
    return str(message) if message else ""


@dataclass
class DirectDatabase:
    """``SUPABASE_DB_URL``: statements sent with psycopg instead of the query endpoint."""

    template: str
    counter: RequestCounter
    _single_ref: str | None = field(default=None, repr=False)

    def url_for(self, ref: str) -> str:
        if "{ref}" in self.template:
            return self.template.replace("{ref}", ref)
        if self._single_ref is None:
            self._single_ref = ref
        if self._single_ref != ref:
            raise ConvergeError(
                f"{DB_URL_VARIABLE} names one database, but project refs {self._single_ref} "
                f"and {ref} both need one",
                hint=f"put {{ref}} in {DB_URL_VARIABLE} where the project ref goes, or unset "
                "it to use the Management API's query endpoint",
            )
        return self.template

    def run(self, ref: str, query: str, parameters: Sequence[Any] | None) -> list[dict[str, Any]]:
        what = f"SQL on the database of {ref}"
        url = self.url_for(ref)
        try:
            with (
                psycopg.connect(url, autocommit=True, connect_timeout=10) as conn,
                psycopg.RawCursor(conn, row_factory=dict_row) as cur,
            ):
                cur.execute(query.encode(), list(parameters) if parameters else None)
                rows = cur.fetchall() if cur.description else []
        except psycopg.Error as exc:
            self.counter.record(DB_VENDOR, "SQL", 0)
            sqlstate = exc.sqlstate
            # libpq reports a refused password at connect time without an SQLSTATE.
            if sqlstate in _AUTH_SQLSTATES or "authentication failed" in str(exc):
                raise VendorAuthError(
                    f"the database of {ref} refused the credentials in {DB_URL_VARIABLE}",
                    vendor=VENDOR, request=what,
                    hint=f"set {DB_URL_VARIABLE} to a valid connection URL",
                ) from None
            if sqlstate is None:
                raise VendorError(
                    f"could not connect to the database of {ref}",
                    vendor=VENDOR, request=what,
                    hint=f"check the host and port in {DB_URL_VARIABLE}",
                ) from None
            primary = exc.diag.message_primary or ""
            raise VendorError(
                f"the database of {ref} refused {what}: {sqlstate}: {primary}",
                vendor=VENDOR, request=what,
            ) from None
        self.counter.record(DB_VENDOR, "SQL", 200)
        return [dict(row) for row in rows]


@dataclass
class SupabaseClient:
    """The Management API endpoints converge uses, each a typed method."""

    http: VendorHttp
    database: DirectDatabase | None = None
    budgets: dict[tuple[str, str], RateBudget] = field(default_factory=dict)

    @classmethod
    def from_environment(
        cls,
        env: Mapping[str, str],
        *,
        counter: RequestCounter,
        transport: Transport | None = None,
    ) -> SupabaseClient:
        """A client for ``SUPABASE_API_URL`` with ``SUPABASE_ACCESS_TOKEN``; a missing token is
        refused like a wrong one (exit 4, naming the variable), and so are a project's key
        or URL in their place, before any request (``credentials``)."""
        check_management_credentials(env)
        http = bearer_http_from_environment(
            env,
            vendor=VENDOR,
            token_variable=TOKEN_VARIABLE,
            url_variable=URL_VARIABLE,
            default_url=DEFAULT_API_URL,
            token_kind="a Supabase access token (sbp_…)",
            counter=counter,
            error_message=error_message,
            transport=transport,
        )
        db_url = env.get(DB_URL_VARIABLE, "").strip()
        database = DirectDatabase(db_url, counter) if db_url else None
        return cls(http=http, database=database)

    def close(self) -> None:
        self.http.close()

    def _request(
        self,
        endpoint: str,
        ref: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        reobserve: Callable[[], httpx.Response | None] | None = None,
    ) -> httpx.Response:
        budget = self.budgets.get((endpoint, ref))
        if budget is None:
            budget = self.budgets[(endpoint, ref)] = RateBudget(RATE_LIMIT)
        budget.acquire()
        try:
            return self.http.request(method, path, params=params, json=json, reobserve=reobserve)
        except VendorError as exc:
            if exc.status == 404 and not isinstance(exc, VendorAuthError):
                raise VendorError(
                    f"supabase has no project {ref} ({exc.request})",
                    vendor=VENDOR, request=exc.request, status=404,
                    hint="check the project refs in the workspace's supabase settings",
                ) from None
            if exc.status == 403 and not isinstance(exc, VendorAuthError):
                raise VendorError(
                    exc.message, vendor=VENDOR, request=exc.request, status=403,
                    hint=f"the token in {TOKEN_VARIABLE} lacks a permission this call needs "
                    f"on project {ref}",
                ) from None
            raise

    # reads -------------------------------------------------------------------------------

    def get_project(self, ref: str) -> Project:
        response = self._request("project", ref, "GET", api_path("/v1/projects/{}", ref))
        return Project.model_validate(response.json())

    def get_auth_config(self, ref: str) -> dict[str, Any]:
        """The full auth config: every field, ``None`` when unset, secrets as HMACs."""
        response = self._request("auth", ref, "GET", api_path("/v1/projects/{}/config/auth", ref))
        return AUTH_CONFIG.validate_python(response.json())

    def get_postgrest_config(self, ref: str) -> PostgrestConfig:
        """The Data API (PostgREST) settings; the ``jwt_secret`` in the answer is dropped."""
        path = api_path("/v1/projects/{}/postgrest", ref)
        response = self._request("postgrest", ref, "GET", path)
        return PostgrestConfig.model_validate(response.json())

    def list_api_keys(self, ref: str, *, reveal: bool = False) -> list[ApiKey]:
        params = {"reveal": "true"} if reveal else None
        response = self._request("api-keys", ref, "GET", api_path("/v1/projects/{}/api-keys", ref),
                                 params=params)
        return API_KEYS.validate_python(response.json())

    # writes ------------------------------------------------------------------------------

    def patch_auth_config(
        self,
        ref: str,
        body: Mapping[str, Any],
        *,
        reobserve: Callable[[], dict[str, Any] | None] | None = None,
    ) -> dict[str, Any]:
        """A partial update; the vendor answers with the whole config after it. If the
        response is lost, ``reobserve`` (given the config read back) decides whether the
        update had landed before it is sent again."""

        def found() -> httpx.Response | None:
            assert reobserve is not None
            config = reobserve()
            return None if config is None else httpx.Response(200, json=config)

        response = self._request(
            "auth-write", ref, "PATCH", api_path("/v1/projects/{}/config/auth", ref),
            json=dict(body),
            reobserve=found if reobserve is not None else None,
        )
        return AUTH_CONFIG.validate_python(response.json())

    def patch_postgrest_config(
        self,
        ref: str,
        schemas: Sequence[str],
        *,
        reobserve: Callable[[], PostgrestConfig | None] | None = None,
    ) -> PostgrestConfig:
        """Set the exposed schemas (``db_schema``, comma-joined here: a name holding a comma
        is refused, never sent, as PostgREST would read it as two schemas) and nothing
        else; the vendor answers with every Data API setting. If the response is lost,
        ``reobserve`` (given the settings read back) decides whether the update had landed
        before it is sent again."""
        body = {"db_schema": comma_list(schemas, field="db_schema")}

        def found() -> httpx.Response | None:
            assert reobserve is not None
            config = reobserve()
            return None if config is None else httpx.Response(200, json=config.model_dump())

        response = self._request(
            "postgrest-write", ref, "PATCH", api_path("/v1/projects/{}/postgrest", ref),
            json=body, reobserve=found if reobserve is not None else None,
        )
        return PostgrestConfig.model_validate(response.json())

    def run_sql(
        self, ref: str, query: str, *, parameters: Sequence[Any] | None = None,
        read_only: bool = False,
    ) -> list[dict[str, Any]]:
        """Rows of the (last) statement: straight to ``SUPABASE_DB_URL`` when it is set,
        else through ``POST /v1/projects/{ref}/database/query`` (``…/read-only`` for
        ``read_only``: observing needs no write privilege, so it does not ask for one)."""
        if self.database is not None:
            return self.database.run(ref, query, parameters)
        body: dict[str, Any] = {"query": query}
        if parameters:
            body["parameters"] = list(parameters)
        path = api_path("/v1/projects/{}/database/query", ref) + (
            "/read-only" if read_only else "")
        response = self._request("query", ref, "POST", path, json=body)
        try:
            return ROWS.validate_python(response.json())
        except ValueError:
            raise VendorError(
                f"supabase answered SQL on {ref} with something other than rows",
                vendor=VENDOR, request=f"POST {path}",
            ) from None
