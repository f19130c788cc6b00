"""How each vendor limits requests and shapes the errors the middleware produces.

Facts come from ``vendor-apis/*-api.md`` ("Rate limits" and error conventions); the
figures below are the ones the headers advertise by default (``ratelimits``):

- Infisical: fixed 60 s windows per client IP, a global cap of 600 plus one class per route
  (read 200, write 90, secrets 120, identity creation 30, project creation 30); error body
  ``{reqId, statusCode, message, error}``. Headers: ``x-ratelimit-limit``, ``-remaining``
  and ``-reset`` (seconds to reset, as @fastify/rate-limit sends them) are a design choice,
  since the docs do not confirm them; ``retry-after`` on 429.
- Vercel: per action per owner (env get 500, create 120, update 120, delete 60, batch
  delete 60, pull 500; other project calls 120); the owner is the team or user the request
  acts for (``converge_sandbox.vercel.quota``; a refused token spends no quota);
  ``X-RateLimit-Reset`` is epoch seconds; 429 body ``{"error": {"code": "rate_limited",
  "name", "message", "limit"}}``; ``Retry-After`` on 429.
- Supabase: 120 per minute per user per scope (project ref or org) per endpoint, with
  ``X-RateLimit-*`` on every response (reset = seconds to reset); 429 body is NestJS's
  ``ThrottlerException``; ``Retry-After`` added on 429 (honoured by its TF provider).
"""

from __future__ import annotations

import json
import re
import secrets
from http import HTTPStatus
from typing import Protocol

from converge_sandbox.ratelimits import LimitRule, WindowState

Headers = list[tuple[bytes, bytes]]


class VendorProfile(Protocol):
    vendor: str

    def rules(self, method: str, path: str) -> tuple[LimitRule, ...]:
        """The limits one request counts against (empty = unlimited)."""
        ...

    def limit_headers(self, state: WindowState, now: float) -> Headers:
        """Rate-limit headers for a response counted against ``state``."""
        ...

    def rate_limited_body(self, state: WindowState, now: float) -> bytes:
        """The vendor's 429 body."""
        ...

    def error_body(self, status: int) -> bytes:
        """The vendor's body for an error status (used by fault injection)."""
        ...


def _dumps(doc: object) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _num(value: int | float) -> bytes:
    return str(int(value)).encode()


class InfisicalProfile:
    vendor = "infisical"
    _UNLIMITED = frozenset({"/api/status", "/healthcheck"})
    _GLOBAL = LimitRule("global", "globalLimit", 600)
    _READ = LimitRule("read", "readLimit", 200)
    _WRITE = LimitRule("write", "writeLimit", 90)
    _SECRETS = LimitRule("secrets", "secretsLimit", 120)
    _IDENTITY = LimitRule("identity-creation", "identityCreationLimit", 30)
    _PROJECT = LimitRule("project-creation", "projectCreationLimit", 30)
    _SECRET_PATH = re.compile(r"^/api/v\d+/(secrets|folders|secret-imports)(/|$)")
    _PROJECT_CREATE = re.compile(r"^/api/v\d+/(workspace|projects)/?$")
    _ERROR_NAMES = {
        400: "BadRequest",
        401: "UnauthorizedError",
        403: "PermissionDenied",
        404: "NotFound",
        500: "InternalServerError",
        504: "GatewayTimeoutError",
    }

    def rules(self, method: str, path: str) -> tuple[LimitRule, ...]:
        if path in self._UNLIMITED:
            return ()
        if method == "POST" and path.rstrip("/") == "/api/v1/identities":
            route = self._IDENTITY
        elif method == "POST" and self._PROJECT_CREATE.match(path):
            route = self._PROJECT
        elif self._SECRET_PATH.match(path):
            route = self._SECRETS
        elif method in ("GET", "HEAD"):
            route = self._READ
        else:
            route = self._WRITE
        return (self._GLOBAL, route)

    def limit_headers(self, state: WindowState, now: float) -> Headers:
        return [
            (b"x-ratelimit-limit", _num(state.limit)),
            (b"x-ratelimit-remaining", _num(state.remaining)),
            (b"x-ratelimit-reset", _num(state.seconds_to_reset(now))),
        ]

    def _body(self, status: int, message: str, error: str) -> bytes:
        req_id = "req-" + secrets.token_urlsafe(10).replace("-", "x").replace("_", "y")
        return _dumps({"reqId": req_id, "statusCode": status, "message": message, "error": error})

    def rate_limited_body(self, state: WindowState, now: float) -> bytes:
        wait = state.seconds_to_reset(now)
        return self._body(
            429, f"Rate limit exceeded. Please try again in {wait} seconds", "RateLimitExceeded"
        )

    def error_body(self, status: int) -> bytes:
        if status == 429:
            return self._body(429, "Rate limit exceeded. Please try again in 1 seconds",
                              "RateLimitExceeded")
        name = self._ERROR_NAMES.get(status) or _phrase(status).replace(" ", "")
        message = "Something went wrong" if status >= 500 else _phrase(status)
        return self._body(status, message, name)


class VercelProfile:
    vendor = "vercel"
    _ENV = re.compile(r"^/v\d+/projects/[^/]+/env/?$")
    _ENV_ONE = re.compile(r"^/v\d+/projects/[^/]+/env/[^/]+/?$")
    _PULL = re.compile(r"^/v\d+/env/pull/")
    _PROJECTS = re.compile(r"^(/v\d+)?/projects(/|$)")
    _P = "api-projects-environment-variable-"
    _GET = LimitRule("env-get", _P + "get", 500)
    _CREATE = LimitRule("env-create", _P + "create", 120)
    _UPDATE = LimitRule("env-update", _P + "update", 120)
    _DELETE = LimitRule("env-delete", _P + "delete", 60)
    _BATCH_DELETE = LimitRule("env-batch-delete", _P + "batch-delete", 60)
    _PULL_RULE = LimitRule("env-pull", _P + "pull", 500)
    _OTHER = LimitRule("projects", "api-projects", 120)

    def rules(self, method: str, path: str) -> tuple[LimitRule, ...]:
        if self._ENV.match(path):
            if method == "POST":
                return (self._CREATE,)
            return (self._BATCH_DELETE,) if method == "DELETE" else (self._GET,)
        if self._ENV_ONE.match(path):
            by_method = {"PATCH": self._UPDATE, "DELETE": self._DELETE}
            return (by_method.get(method, self._GET),)
        if self._PULL.match(path):
            return (self._PULL_RULE,)
        if self._PROJECTS.match(path):
            return (self._OTHER,)
        return ()

    def limit_headers(self, state: WindowState, now: float) -> Headers:
        return [
            (b"x-ratelimit-limit", _num(state.limit)),
            (b"x-ratelimit-remaining", _num(state.remaining)),
            (b"x-ratelimit-reset", _num(state.reset_at)),
        ]

    def rate_limited_body(self, state: WindowState, now: float) -> bytes:
        wait = state.seconds_to_reset(now)
        name = state.rule.name
        message = (
            f"Too many requests - try again in {wait} seconds "
            f'(more than {state.limit}, code: "{name}").'
        )
        limit = {
            "remaining": state.remaining,
            "reset": int(state.reset_at),
            "resetMs": int(state.reset_at * 1000),
            "total": state.limit,
        }
        return _dumps(
            {"error": {"code": "rate_limited", "name": name, "message": message, "limit": limit}}
        )

    def error_body(self, status: int) -> bytes:
        if status == 429:
            code, message = "rate_limited", "Too many requests - try again in 1 seconds."
        elif status == 500:
            code, message = "internal_server_error", "An unexpected internal error occurred."
        else:
            code = _phrase(status).lower().replace(" ", "_")
            message = _phrase(status) + "."
        return _dumps({"error": {"code": code, "message": message}})


class SupabaseProfile:
    vendor = "supabase"
    _SCOPED = re.compile(r"^(/v\d+/(?:projects|organizations)/)([^/]+)(.*)$")
    _ENDPOINT_LIMIT = 120

    def rules(self, method: str, path: str) -> tuple[LimitRule, ...]:
        match = self._SCOPED.match(path)
        if match:
            scope, endpoint = match.group(2), match.group(1) + "{ref}" + match.group(3)
        else:
            scope, endpoint = "user", path
        return (LimitRule(f"{scope} {method} {endpoint}", "endpoint", self._ENDPOINT_LIMIT),)

    def limit_headers(self, state: WindowState, now: float) -> Headers:
        return [
            (b"x-ratelimit-limit", _num(state.limit)),
            (b"x-ratelimit-remaining", _num(state.remaining)),
            (b"x-ratelimit-reset", _num(state.seconds_to_reset(now))),
        ]

    def rate_limited_body(self, state: WindowState, now: float) -> bytes:
        return self.error_body(429)

    def error_body(self, status: int) -> bytes:
        if status == 429:
            return _dumps({"statusCode": 429, "message": "ThrottlerException: Too Many Requests"})
        if status == 500:
            return _dumps({"message": "Failed to process the request"})
        return _dumps({"message": _phrase(status)})


PROFILES: dict[str, VendorProfile] = {
    "infisical": InfisicalProfile(),
    "vercel": VercelProfile(),
    "supabase": SupabaseProfile(),
}


def profile_for(vendor: str) -> VendorProfile:
    return PROFILES[vendor]
