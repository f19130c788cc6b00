"""ASGI middleware that wraps each vendor emulator: faults, rate limits, request log.

Per request, in this order: draw the fault (``faults``); wait until the vendor is seeded
(``gate``); sleep the fault's latency; drop the connection or answer the injected error in
the vendor's own shape; count the request against the vendor's rate limits and answer 429
when over; otherwise call the emulator and add the vendor's rate-limit headers to its
response. Every request is logged without headers, query or body. Bodies stream through
untouched.

``/__sandbox/requests`` is the control endpoint (loopback clients only, never faulted,
limited or logged): ``GET`` returns the log as JSON (``?vendor=`` and ``?limit=`` filter),
``DELETE`` clears it.

Dropping a connection needs the socket's transport; ``server.SandboxHttpProtocol`` puts it
in ``scope["extensions"]``. Served any other way, a drop degrades to the vendor's 503.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from converge_sandbox.faults import NO_FAULT, FaultInjector, FaultKind, FaultSpec
from converge_sandbox.gate import ReadyGate
from converge_sandbox.ratelimits import FixedWindowLimiter, RateLimitSpec
from converge_sandbox.requestlog import RequestEntry, RequestLog
from converge_sandbox.vendorprofiles import Headers, profile_for

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TRANSPORT_EXTENSION = "converge.transport"
CONTROL_PREFIX = "/__sandbox/"
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
_JSON = (b"content-type", b"application/json")


async def _respond(send: Send, status: int, body: bytes, headers: Headers) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [_JSON, (b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SandboxMiddleware:
    """Wraps one vendor's ASGI app; see the module docstring for what it adds."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        vendor: str,
        log: RequestLog,
        faults: FaultSpec | None = None,
        rate_limits: RateLimitSpec | None = None,
        clock: Callable[[], float] = time.time,
        gate: ReadyGate | None = None,
    ):
        self.app = app
        self.vendor = vendor
        self.log = log
        self.profile = profile_for(vendor)
        spec = faults or FaultSpec()
        self.injector = FaultInjector(spec) if spec.applies_to(vendor) else None
        self.limiter = FixedWindowLimiter(vendor, rate_limits or RateLimitSpec())
        self.clock = clock
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(CONTROL_PREFIX):
            await self._control(scope, send)
            return
        method: str = scope["method"]
        started = time.perf_counter()
        now = self.clock()
        fault = self.injector.decide(method) if self.injector is not None else NO_FAULT
        status, fault_name = 0, ""
        try:
            if self.gate is not None and not self.gate.is_open:
                await self.gate.wait_async()
            if self.gate is not None and self.gate.error is not None:
                status, fault_name = 503, "unseeded"
                await _respond(send, 503, self.profile.error_body(503), [])
                return
            if fault.delay > 0:
                await asyncio.sleep(fault.delay)
            if fault.kind is FaultKind.DROP and await self._drop(scope):
                fault_name = "drop"
                return
            if fault.kind is not FaultKind.NONE:
                status = fault.status or 503
                fault_name = "error"
                await _respond(send, status, self.profile.error_body(status), self._retry(status))
                return
            state = self.limiter.hit(self.profile.rules(method, path), now)
            extra: Headers = self.profile.limit_headers(state, now) if state is not None else []
            if state is not None and state.exceeded:
                status, fault_name = 429, "rate_limited"
                wait = str(state.seconds_to_reset(now)).encode()
                body = self.profile.rate_limited_body(state, now)
                await _respond(send, 429, body, [*extra, (b"retry-after", wait)])
                return

            async def send_with_headers(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    if extra:
                        message = {**message, "headers": [*message.get("headers", ()), *extra]}
                await send(message)

            await self.app(scope, receive, send_with_headers)
        finally:
            if status == 0 and fault_name != "drop":
                status = 500  # the app raised before answering; uvicorn answers 500
            duration = round((time.perf_counter() - started) * 1000, 3)
            self.log.record(
                RequestEntry(now, self.vendor, method, path, status, duration, fault_name)
            )

    @staticmethod
    def _retry(status: int) -> Headers:
        return [(b"retry-after", b"1")] if status in (429, 503) else []

    async def _drop(self, scope: Scope) -> bool:
        """Close the socket without answering; False if the server gave no transport."""
        transport = scope.get("extensions", {}).get(TRANSPORT_EXTENSION)
        if transport is None:
            return False
        transport.close()
        await asyncio.sleep(0)  # let the server see the connection is gone
        return True

    async def _control(self, scope: Scope, send: Send) -> None:
        client = scope.get("client")
        if not client or client[0] not in _LOOPBACK_HOSTS:
            await _respond(send, 403, b'{"message":"loopback only"}', [])
            return
        if scope["path"].rstrip("/") != "/__sandbox/requests":
            await _respond(send, 404, b'{"message":"not found"}', [])
            return
        if scope["method"] == "DELETE":
            self.log.reset()
            await _respond(send, 200, b'{"reset":true}', [])
            return
        if scope["method"] != "GET":
            await _respond(send, 405, b'{"message":"method not allowed"}', [])
            return
        query = urllib.parse.parse_qs(scope.get("query_string", b"").decode("latin-1"))
        vendor = query.get("vendor", [None])[0]
        limit_text = query.get("limit", [""])[0]
        limit = int(limit_text) if limit_text.lstrip("-").isdigit() else None
        body = json.dumps(self.log.snapshot(vendor, limit), separators=(",", ":")).encode()
        await _respond(send, 200, body, [])
