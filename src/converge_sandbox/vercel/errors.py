"""Vercel's error body, raised inside handlers and rendered once by the app.

Every Vercel error is ``{"error": {"code": ..., "message": ..., ...extra}}`` (REST API
errors page). Generic codes are lower-case (``forbidden``, ``not_found``,
``bad_request``, ``method_unknown``); env-var codes are the upper-case ones the Vercel CLI
knows (``ENV_ALREADY_EXISTS``, ``ENV_CONFLICT``, ``KEY_INVALID_CHARACTERS``, …).

Messages name keys, ids and targets, never values: the emulator holds real-looking
secrets and an error text may end up in a log.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse


class VercelApiError(Exception):
    """An error answer: HTTP status, Vercel error code, message and extra error fields."""

    def __init__(self, status: int, code: str, message: str, **extra: Any):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def error_object(self) -> dict[str, Any]:
        """The value of the ``error`` member, also used for items of ``failed[]``."""
        return {"code": self.code, "message": self.message, **self.extra}

    def to_response(self, **body_extra: Any) -> JSONResponse:
        return JSONResponse({"error": self.error_object(), **body_extra}, status_code=self.status)


def missing_token() -> VercelApiError:
    """No bearer token: the CLI reads ``missingToken`` and tells the user to log in."""
    return VercelApiError(
        403, "forbidden", "The request is missing an authentication token", missingToken=True
    )


def invalid_token() -> VercelApiError:
    """A token Vercel does not know: the CLI reads ``invalidToken`` (InvalidToken error)."""
    return VercelApiError(403, "forbidden", "Not authorized", invalidToken=True)


def not_authorized() -> VercelApiError:
    """A valid token acting on a scope (team) it is no member of."""
    return VercelApiError(403, "forbidden", "Not authorized")


def not_found(message: str) -> VercelApiError:
    return VercelApiError(404, "not_found", message)


def bad_request(message: str, code: str = "bad_request", **extra: Any) -> VercelApiError:
    return VercelApiError(400, code, message, **extra)


def project_not_found() -> VercelApiError:
    return not_found("Project not found.")


def env_not_found(env_id: str) -> VercelApiError:
    return not_found(f"Could not find the environment variable: {env_id}")
