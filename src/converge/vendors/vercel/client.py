"""Typed calls to Vercel's env-var API over one pooled ``VendorHttp`` (the only httpx user here).

Credentials and base URL come from the environment (architecture §5): ``VERCEL_TOKEN`` (bearer)
and ``VERCEL_API_URL`` (default ``https://api.vercel.com``). Vercel answers a missing or
unknown token with 403 ``forbidden`` flagged ``missingToken`` / ``invalidToken`` (not 401),
so those become ``VendorAuthError`` naming ``VERCEL_TOKEN`` (exit 4).

Every call is team scoped (``teamId=team_…`` or ``slug=<team>``): without it Vercel acts on
the token's personal account, where a team project is 404 (vercel-api.md §0, §5).

Pacing: Vercel limits env-var actions per owner and minute (vercel-api.md §6: get 500,
create 120, update 120, delete 60). Each action has its own token bucket, taken once per
call here; ``VendorHttp``'s own budget is off, and its retries honour ``Retry-After``.

Versions: list ``/v10`` (plain values readable, encrypted and sensitive ones opaque, which
is what converge wants: it never reads secrets back), create ``/v10`` (array body, one
request per batch), edit and delete ``/v9``, get-one ``/v1`` (documented in the SDK).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from converge.errors import VendorAuthError, VendorError
from converge.vendors.http import (
    RateBudget,
    RequestCounter,
    Transport,
    VendorHttp,
    api_path,
    bearer_http_from_environment,
    is_unauthorized,
    json_object,
)
from converge.vendors.vercel.wire import CreateResult, EnvList, EnvVar, NewEnvVar

VENDOR = "vercel"
TOKEN_VARIABLE = "VERCEL_TOKEN"
URL_VARIABLE = "VERCEL_API_URL"
DEFAULT_API_URL = "https://api.vercel.com"

# vercel-api.md §6, per 60 s and owner.
RATE_LIMITS: Mapping[str, int] = {"get": 500, "create": 120, "update": 120, "delete": 60}
MAX_LIST_PAGES = 50


@dataclass(frozen=True)
class ProjectScope:
    """One Vercel project of one team: ``team`` is a slug (``acme``) or an id (``team_…``),
    ``None`` for the personal account; ``project`` is a name or a ``prj_…`` id."""

    team: str | None
    project: str

    def params(self) -> dict[str, str]:
        if self.team is None:
            return {}
        if self.team.startswith("team_"):
            return {"teamId": self.team}
        return {"slug": self.team}

    def describe(self) -> str:
        return f"{self.team}/{self.project}" if self.team else self.project


def _error_object(response: httpx.Response) -> Mapping[str, Any]:
    error = json_object(response).get("error")
    return error if isinstance(error, dict) else {}


def error_message(response: httpx.Response) -> str:
    """``CODE: message`` from Vercel's error body (messages name keys, never values)."""
    error = _error_object(response)
    code, message = str(error.get("code", "")), str(error.get("message", ""))
    return f"{code}: {message}" if code and message else code or message


def is_auth_failure(response: httpx.Response) -> bool:
    """401, or Vercel's 403 ``forbidden`` with ``missingToken`` / ``invalidToken``."""
    if is_unauthorized(response):
        return True
    error = _error_object(response)
    return bool(error.get("invalidToken") or error.get("missingToken"))


Model = TypeVar("Model", bound=BaseModel)


def parse_body(model: type[Model], response: httpx.Response, body: Any = None) -> Model:
    """Validate a response body; a body of the wrong shape is a VendorError that names the
    request but never echoes the body (it may hold values)."""
    what = f"{response.request.method} {response.request.url.path}"
    try:
        return model.model_validate(response.json() if body is None else body)
    except (ValueError, ValidationError):
        raise VendorError(
            f"vercel answered {what} with a body converge does not understand",
            vendor=VENDOR, request=what, status=response.status_code,
            hint="the Vercel API may have changed; report it with the request name",
        ) from None


class _ProjectBody(BaseModel):
    id: str


@dataclass
class VercelClient:
    """The env-var endpoints converge uses, each a typed method."""

    http: VendorHttp
    budgets: dict[str, RateBudget] = field(
        default_factory=lambda: {action: RateBudget(n) for action, n in RATE_LIMITS.items()}
    )
    _project_ids: dict[ProjectScope, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_environment(
        cls,
        env: Mapping[str, str],
        *,
        counter: RequestCounter,
        transport: Transport | None = None,
    ) -> VercelClient:
        """A client for ``VERCEL_API_URL`` with ``VERCEL_TOKEN``; a missing token is refused
        like a wrong one (exit 4, naming the variable)."""
        http = bearer_http_from_environment(
            env,
            vendor=VENDOR,
            token_variable=TOKEN_VARIABLE,
            url_variable=URL_VARIABLE,
            default_url=DEFAULT_API_URL,
            token_kind="a Vercel access token",
            counter=counter,
            error_message=error_message,
            auth_failure=is_auth_failure,
            transport=transport,
        )
        return cls(http=http)

    def close(self) -> None:
        self.http.close()

    def _request(
        self,
        action: str,
        method: str,
        path: str,
        *,
        scope: ProjectScope,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        reobserve: Callable[[], httpx.Response | None] | None = None,
        allow_status: frozenset[int] = frozenset(),
    ) -> httpx.Response:
        self.budgets[action].acquire()
        try:
            return self.http.request(
                method,
                path,
                params={**scope.params(), **(params or {})},
                json=json,
                reobserve=reobserve,
                allow_status=allow_status,
            )
        except VendorError as exc:
            if exc.status == 403 and not isinstance(exc, VendorAuthError):
                raise VendorError(
                    exc.message, vendor=VENDOR, request=exc.request, status=403,
                    hint=f"check that the token in {TOKEN_VARIABLE} may act on team "
                    f"{scope.team!r}",
                ) from None
            raise

    def _project_request(self, path: str, *, scope: ProjectScope,
                         params: Mapping[str, str] | None = None) -> httpx.Response:
        """A project-level read, where 404 means the project is not in that team."""
        try:
            return self._request("get", "GET", path, scope=scope, params=params)
        except VendorError as exc:
            if exc.status != 404 or isinstance(exc, VendorAuthError):
                raise
            raise VendorError(
                f"vercel has no project {scope.project!r} in team {scope.team!r} "
                f"({exc.request})",
                vendor=VENDOR, request=exc.request, status=404,
                hint="create the project in Vercel or fix vercel.project / vercel.team "
                "in the workspace",
            ) from None

    # reads -------------------------------------------------------------------------------

    def project_id(self, scope: ProjectScope) -> str:
        """The ``prj_…`` id of the named project (cached: project ids never change)."""
        if scope.project.startswith("prj_"):
            return scope.project
        if scope not in self._project_ids:
            path = api_path("/v9/projects/{}", scope.project)
            response = self._project_request(path, scope=scope)
            self._project_ids[scope] = parse_body(_ProjectBody, response).id
        return self._project_ids[scope]

    def list_env(self, scope: ProjectScope) -> list[EnvVar]:
        """Every env var of the project: one request, more only if Vercel paginates."""
        envs: list[EnvVar] = []
        params: dict[str, str] = {}
        path = api_path("/v10/projects/{}/env", scope.project)
        for _ in range(MAX_LIST_PAGES):
            response = self._project_request(path, scope=scope, params=params)
            page = parse_body(EnvList, response)
            if page.hidden_production_env_count:
                raise VendorError(
                    f"vercel hides {page.hidden_production_env_count} production env vars of "
                    f"{scope.describe()} from this token",
                    vendor=VENDOR, request=f"GET {path}",
                    hint=f"use a token in {TOKEN_VARIABLE} whose role may read production "
                    "variables: converge cannot plan against a partial list",
                )
            envs.extend(page.envs)
            cursor = page.pagination.next if page.pagination else None
            if cursor is None or not page.envs:
                return envs
            params = {"until": str(cursor)}
        raise VendorError(
            f"vercel kept paginating the env vars of {scope.describe()}",
            vendor=VENDOR, request=f"GET {path}",
        )

    def get_env(self, scope: ProjectScope, env_id: str) -> EnvVar | None:
        """One env var (no value for sensitive ones), or None when it does not exist."""
        response = self._request(
            "get", "GET", api_path("/v1/projects/{}/env/{}", scope.project, env_id), scope=scope,
            allow_status=frozenset({404}),
        )
        if response.status_code == 404:
            return None
        return parse_body(EnvVar, response)

    # writes ------------------------------------------------------------------------------

    def create_env(
        self,
        scope: ProjectScope,
        items: Sequence[NewEnvVar],
        *,
        upsert: bool,
        reobserve: Callable[[], CreateResult | None] | None = None,
    ) -> CreateResult:
        """One POST with an array body. Items that fail come back in ``failed`` (also when
        all fail, which Vercel answers with 400 and ``failed[]``). ``upsert`` overwrites only
        a var with exactly the same key, targets and branch. ``reobserve`` is asked, before
        a re-send after a lost response, whether the items exist already."""
        path = api_path("/v10/projects/{}/env", scope.project)

        def found() -> httpx.Response | None:
            assert reobserve is not None
            result = reobserve()
            if result is None:
                return None
            return httpx.Response(
                201, json=result.model_dump(by_alias=True, mode="json"),
                request=httpx.Request("POST", path),
            )

        response = self._request(
            "create" if not upsert else "update",
            "POST",
            path,
            scope=scope,
            params={"upsert": "true"} if upsert else None,
            json=[item.to_body() for item in items],
            reobserve=found if reobserve is not None else None,
            allow_status=frozenset({400, 403}),
        )
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        if status >= 400 and not (isinstance(body, dict) and "failed" in body):
            # 403 is let through only for an all-failed batch (ENV_ALREADY_EXISTS items);
            # a refused token is still a refused token.
            error = VendorAuthError if is_auth_failure(response) else VendorError
            raise error(
                f"vercel answered {status} to POST {path}: {error_message(response)}",
                vendor=VENDOR, request=f"POST {path}", status=status,
                hint=f"set {TOKEN_VARIABLE} to a valid token"
                if error is VendorAuthError else "",
            )
        return parse_body(CreateResult, response, body)

    def patch_env(self, scope: ProjectScope, env_id: str, body: Mapping[str, Any]) -> EnvVar:
        response = self._request(
            "update", "PATCH", api_path("/v9/projects/{}/env/{}", scope.project, env_id),
            scope=scope,
            json=dict(body),
        )
        return parse_body(EnvVar, response)

    def delete_env(self, scope: ProjectScope, env_id: str) -> bool:
        """Delete one env var; False when it was already gone."""
        response = self._request(
            "delete", "DELETE", api_path("/v9/projects/{}/env/{}", scope.project, env_id),
            scope=scope,
            allow_status=frozenset({404}),
        )
        return response.status_code != 404
