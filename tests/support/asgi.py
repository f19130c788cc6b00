"""Drive an emulator's ASGI app in-process from httpx's *synchronous* client.

``VendorHttp`` is a sync ``httpx.Client`` while ``httpx.ASGITransport`` is async only, so
``InProcessTransport`` runs each request through the app on a private event loop. It also
keeps the log the tests assert on and can lose a response after the app handled the
request: the write happened, the client sees a dropped connection (how the reconcilers'
re-observe-before-retry is proven).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.types import ASGIApp

# httpx.ASGITransport's own default peer address.
DEFAULT_CLIENT = ("127.0.0.1", 123)


def never(request: httpx.Request) -> bool:
    return False


@dataclass
class InProcessTransport(httpx.BaseTransport):
    """Sends each request to ``app`` as from ``client``, logs it as ``"METHOD /path"``, and
    drops the response of the requests ``drop`` selects (at most ``max_drops`` of them when
    set), counting them in ``dropped``."""

    app: ASGIApp
    client: tuple[str, int] = DEFAULT_CLIENT
    log: list[str] = field(default_factory=list)
    drop: Callable[[httpx.Request], bool] = never
    max_drops: int | None = None
    dropped: int = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.log.append(f"{request.method} {request.url.path}")
        request.read()

        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, client=self.client)
            response = await transport.handle_async_request(request)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers,
                                  content=content, request=request)

        response = asyncio.run(send())
        if (self.max_drops is None or self.dropped < self.max_drops) and self.drop(request):
            self.dropped += 1
            raise httpx.ReadError("connection dropped after the request was handled")
        return response

    def count(self, method: str, path_part: str = "") -> int:
        """How many ``method`` requests had ``path_part`` in their path."""
        return sum(1 for entry in self.log
                   if entry.startswith(f"{method} ") and path_part in entry.split(" ", 1)[1])


class RequestVerbs:
    """``get``/``post``/``patch``/``delete`` shortcuts over a test client's
    ``request(method, path, **options)``, which each client defines with its own options."""

    request: Callable[..., httpx.Response]

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("POST", path, **kw)

    def patch(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", path, **kw)
