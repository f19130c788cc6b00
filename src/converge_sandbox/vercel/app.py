"""The Vercel emulator as one Starlette app: ``create_app(world)``.

All state lives in ``world.store``; the app holds none, so any number of apps (or a
restarted server) over the same store see the same world. Rate limiting, fault injection
and request logging are not here: the sandbox wraps every vendor app in middleware for
those. Unknown paths and methods answer with Vercel's ``not_found`` and
``method_unknown`` bodies so that clients parse every error the same way.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from converge_sandbox.vercel.errors import VercelApiError, not_found
from converge_sandbox.vercel.routes_account import account_routes
from converge_sandbox.vercel.routes_env import env_routes
from converge_sandbox.vercel.state import VercelState
from converge_sandbox.world import SandboxWorld


async def _vercel_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, VercelApiError)
    return exc.to_response()


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 rendered as Vercel errors."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        return VercelApiError(
            405, "method_unknown", f"This endpoint only responds to {allowed}"
        ).to_response()
    if exc.status_code == 404:
        return not_found("The requested API endpoint was not found.").to_response()
    return VercelApiError(exc.status_code, "bad_request", str(exc.detail)).to_response()


def create_app(world: SandboxWorld) -> Starlette:
    """A Starlette app emulating Vercel's user, team, project and env-var endpoints."""
    state = VercelState(world)
    return Starlette(
        routes=[*account_routes(state), *env_routes(state)],
        exception_handlers={VercelApiError: _vercel_error, HTTPException: _http_error},
    )
