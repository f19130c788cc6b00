"""The Supabase Management API emulator as a Starlette app.

``create_app(world)`` serves the part of ``https://api.supabase.com`` that converge, the
Supabase CLI (``config push``, ``projects api-keys``, ``secrets``, ``postgres-config``) and
``supabase-management-js`` use. Every request must carry
``Authorization: Bearer <world.credentials.supabase_access_token>``; anything else gets the
vendor's ``401 {"message":"Unauthorized"}``. Errors are ``{"message": …}`` bodies; unknown
routes answer like the vendor's NestJS router. Rate limits, faults and request logs are
added by the sandbox's common wrapper, not here.
"""

from __future__ import annotations

import hmac

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from converge_sandbox.supabase import config, database, keys, network, pgconfig, projects
from converge_sandbox.supabase.errors import ApiError, unauthorized
from converge_sandbox.world import SandboxWorld


class _BearerAuth:
    """Refuse every request whose bearer token is not the sandbox's access token."""

    def __init__(self, app: ASGIApp, token: str):
        self.app = app
        self.expected = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            scheme, _, given = headers.get(b"authorization", b"").partition(b" ")
            if scheme.lower() != b"bearer" or not hmac.compare_digest(given, self.expected):
                error = unauthorized()
                response = JSONResponse({"message": error.message}, status_code=error.status)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse({"message": exc.message}, status_code=exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code in (404, 405):  # the vendor's router has no 405: unknown is unknown
        message = f"Cannot {request.method} {request.url.path}"
        body = {"statusCode": 404, "message": message, "error": "Not Found"}
        return JSONResponse(body, status_code=404)
    return JSONResponse({"message": str(exc.detail)}, status_code=exc.status_code)


def create_app(world: SandboxWorld) -> Starlette:
    """The emulator for one sandbox world (state in ``world.store``, vendor ``supabase``)."""
    routes: list[Route] = [
        *projects.routes(world),
        *config.routes(world),
        *pgconfig.routes(world),
        *network.routes(world),
        *keys.routes(world),
        *database.routes(world),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={ApiError: _api_error, HTTPException: _http_error},
    )
    app.add_middleware(_BearerAuth, token=world.credentials.supabase_access_token)
    return app
