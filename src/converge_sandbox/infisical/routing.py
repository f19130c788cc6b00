"""The small glue between route modules and Starlette.

Each route module exposes ``routes()`` as ``(path, methods, handler)`` triples where a
handler takes the emulator state and the request. Keeping handlers free of Starlette
wiring lets ``app.py`` own the order of registration (literal segments before
parameters), which matters where the vendor's paths overlap.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from converge_sandbox.infisical.auth import ACTOR_ATTRIBUTE, identify
from converge_sandbox.infisical.state import InfisicalState

Handler = Callable[[InfisicalState, Request], Awaitable[Response]]
RouteSpec = tuple[str, list[str], Handler]


def bind(state: InfisicalState, specs: list[RouteSpec]) -> list[Route]:
    """Starlette routes whose endpoints close over ``state``; the bearer token, if any, is
    checked before the handler runs, on every route (see ``auth.identify``)."""
    routes: list[Route] = []
    for path, methods, handler in specs:

        async def endpoint(request: Request, _handler: Handler = handler) -> Response:
            setattr(request.state, ACTOR_ATTRIBUTE, identify(state, request))
            return await _handler(state, request)

        routes.append(Route(path, endpoint, methods=methods))
    return routes


def ok(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body)


def query_flag(request: Request, name: str, default: bool) -> bool:
    """A ``"true"``/``"false"`` query parameter as zod's boolean-string enum reads it."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    return raw.lower() == "true"
