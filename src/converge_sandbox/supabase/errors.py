"""The Management API's error answers, raised anywhere in the emulator and rendered once.

Why one type: every vendor error body is ``{"message": "<text>"}`` (what the Supabase CLI,
``supabase-management-js`` and the MCP server parse), so handlers raise ``ApiError`` and
the app turns it into that body with the status code.
"""

from __future__ import annotations


class ApiError(Exception):
    """An HTTP error answer of the emulated Management API."""

    def __init__(self, status: int, message: str):
        self.status = status
        self.message = message
        super().__init__(f"{status}: {message}")


def unauthorized() -> ApiError:
    """The vendor's answer to a missing or unknown access token."""
    return ApiError(401, "Unauthorized")


def project_not_found() -> ApiError:
    return ApiError(404, "Project not found")


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)
