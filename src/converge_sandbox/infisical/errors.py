"""Infisical's error answers, as the emulator raises and renders them.

Every handled error of the real service has one body shape,
``{"reqId", "statusCode", "message", "error"}`` (plus ``details`` on some 400/403),
where ``error`` names the error class (``NotFound``, ``PermissionDenied``, ...) and, for
422 only, ``message`` is a list of zod issues instead of a string. Handlers raise
``InfisicalApiError`` and one exception handler in ``app.py`` renders it, so no route
builds an error body by hand. Messages never carry secret values.
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette.responses import JSONResponse


def new_request_id() -> str:
    """A request id shaped like the service's (``req-`` and 14 random characters)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "req-" + "".join(secrets.choice(alphabet) for _ in range(14))


class InfisicalApiError(Exception):
    """An error the emulator answers with; ``error`` is the vendor's error class name."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str | list[dict[str, Any]],
        *,
        details: Any = None,
    ):
        self.status = status
        self.error = error
        self.message = message
        self.details = details
        super().__init__(f"{status} {error}")

    def to_response(self) -> JSONResponse:
        body: dict[str, Any] = {
            "reqId": new_request_id(),
            "statusCode": self.status,
            "message": self.message,
            "error": self.error,
        }
        if self.details is not None:
            body["details"] = self.details
        return JSONResponse(body, status_code=self.status)


def bad_request(message: str, *, details: Any = None, name: str = "BadRequest"
                ) -> InfisicalApiError:
    """``name`` is the service's error class name, or the name a handler gave the error
    (``new BadRequestError({name: "Create Role", …})`` answers ``"error": "Create Role"``)."""
    return InfisicalApiError(400, name, message, details=details)


def unauthorized(message: str = "You are not allowed to access this resource", *,
                 name: str = "UnauthorizedError") -> InfisicalApiError:
    return InfisicalApiError(401, name, message)


def forbidden(message: str = "You are not allowed to access this resource", *,
              details: Any = None, name: str = "ForbiddenError") -> InfisicalApiError:
    return InfisicalApiError(403, name, message, details=details)


def token_error(message: str) -> InfisicalApiError:
    """The 403 the service answers for an expired, malformed or wrongly signed JWT."""
    return InfisicalApiError(403, "TokenError", message)


def not_found(message: str, *, name: str = "NotFound") -> InfisicalApiError:
    return InfisicalApiError(404, name, message)


def permission_denied(action: str, subject: str, *, rules: Any = ()) -> InfisicalApiError:
    """The CASL refusal: the message names the action and subject, and ``details`` lists the
    caller's rules for that action and subject (CASL's ``rulesFor``), as the service does."""
    details = []
    for rule in rules:
        detail: dict[str, Any] = {"action": rule["action"], "inverted": bool(rule.get("inverted")),
                                  "subject": rule["subject"]}
        if rule.get("conditions"):
            detail["conditions"] = rule["conditions"]
        details.append(detail)
    return InfisicalApiError(
        403,
        "PermissionDenied",
        f"You are not allowed to {action} on {subject}",
        details=details,
    )


def validation_failure(issues: list[dict[str, Any]]) -> InfisicalApiError:
    """422 with the zod issue list as ``message``."""
    return InfisicalApiError(422, "ValidationFailure", issues)
