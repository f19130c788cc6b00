"""Small request/response helpers shared by the emulator's handlers.

Why: every handler reads a JSON body, a project ref and boolean query flags the same way,
and answers with plain JSON; keeping that here keeps the handlers about the vendor's rules.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from converge_sandbox.supabase.errors import bad_request


async def read_json(request: Request) -> Any:
    """The request's JSON body (400 in the vendor's shape when it is not JSON)."""
    raw = await request.body()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise bad_request("Invalid JSON body") from None


def ref_of(request: Request) -> str:
    ref: str = request.path_params["ref"]
    return ref


def json_response(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status)
