"""The Infisical emulator as one Starlette application.

``create_app(world)`` wires the route modules to a shared ``InfisicalState`` and installs
the error rendering: ``InfisicalApiError`` becomes the vendor's error body, an unknown
route gets fastify's own 404 shape (Infisical runs on fastify, which has no 405), and
anything unexpected becomes the service's opaque 500. Rate limiting, fault injection and
request logging are added around this app by the sandbox server, not here. Call
``seed(world)`` before serving so the organisation and the operator exist.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from converge_sandbox.infisical import (
    routes_auth,
    routes_folders,
    routes_identities,
    routes_memberships,
    routes_projects,
    routes_roles,
    routes_secrets,
    routes_token_auth,
)
from converge_sandbox.infisical.errors import InfisicalApiError, new_request_id
from converge_sandbox.infisical.routing import bind
from converge_sandbox.infisical.state import InfisicalState
from converge_sandbox.world import SandboxWorld


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InfisicalApiError)
    return exc.to_response()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code in (404, 405):
        return JSONResponse(
            {"message": f"Route {request.method}:{request.url.path} not found",
             "error": "Not Found", "statusCode": 404},
            status_code=404,
        )
    return JSONResponse({"reqId": new_request_id(), "statusCode": exc.status_code,
                         "message": str(exc.detail), "error": "BadRequest"},
                        status_code=exc.status_code)


async def _unexpected(request: Request, exc: Exception) -> Response:
    return JSONResponse({"reqId": new_request_id(), "statusCode": 500,
                         "message": "Something went wrong", "error": "InternalServerError"},
                        status_code=500)


def create_app(world: SandboxWorld) -> Starlette:
    """An ASGI app emulating the Infisical API over ``world.store``."""
    state = InfisicalState(world)
    specs = (
        routes_auth.routes()
        + routes_token_auth.routes()
        + routes_identities.routes()
        + routes_roles.routes()
        + routes_memberships.routes()
        + routes_projects.routes()
        + routes_secrets.routes()
        + routes_folders.routes()
    )
    return Starlette(
        routes=bind(state, specs),
        exception_handlers={
            InfisicalApiError: _api_error,
            HTTPException: _http_error,
            Exception: _unexpected,
        },
    )
