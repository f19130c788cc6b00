"""ASGI middleware that wraps each vendor emulator: faults, rate limits, request log.

Per request, in this order: draw the fault (``faults``); wait until the vendor is seeded
(``gate``); sleep the fault's latency; drop the connection or answer the injected error in
the vendor's own shape; count the request against the vendor's rate limits and answer 429
when over; otherwise call the emulator and add the vendor's rate-limit headers to its
response, or, for a lost-response fault, let the emulator commit and then close the
connection without sending its answer. Every request is logged without headers, query or
body. Bodies stream through untouched.

Rate limits are charged to an account: ``quota_owner`` (given per vendor) names the one a
request is charged to, or None for a request whose credential the vendor refuses, which is
charged to no one (Vercel counts per team or user, so a bad token cannot spend a team's
quota). Without it every request is charged to the one shared account. When the limits
differ from the documented ones (``scale=N`` or a per-rule override), responses say so in
``X-Sandbox-RateLimit-Scale`` and ``X-Sandbox-RateLimit-Documented``.

A client that goes away mid-request (``ClientDisconnect``, a reset socket) is logged as
one info line and status 499, never as a traceback: it is the client's doing, not a fault
of the emulator.

``/__sandbox/`` holds the control endpoints (loopback clients only, never faulted,
limited or logged). ``/__sandbox/requests``: ``GET`` returns the log as JSON (``?vendor=``
and ``?limit=`` filter), ``DELETE`` clears it. ``POST /__sandbox/workspace`` takes the
vendor-side projects a workspace names (``wanted``) and creates this vendor's missing ones
(``ensure``), once the vendor is seeded; it needs ``Authorization: Bearer <control token>``
(the token the running sandbox keeps in its state folder, readable only by its owner), so
neither a vendor client (which never calls these paths) nor another local account can
make the sandbox create anything: on an unknown project the vendor API answers 404 as
the vendor does.

Dropping a connection needs the socket's transport; ``server.SandboxHttpProtocol`` puts it
in ``scope["extensions"]``. Served any other way, a drop degrades to the vendor's 503 and a
lost response to the vendor's 502 (the emulator has still committed the write).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
import urllib.parse
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import ClientDisconnect

from converge_sandbox.faults import NO_FAULT, FaultInjector, FaultKind, FaultSpec
from converge_sandbox.gate import ReadyGate
from converge_sandbox.ratelimits import FixedWindowLimiter, RateLimitSpec, WindowState
from converge_sandbox.requestlog import RequestEntry, RequestLog
from converge_sandbox.vendorprofiles import Headers, profile_for
from converge_sandbox.wanted import WantedProjects, parse_wanted

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
# The account a request is charged to (None: a refused credential, charged to no one).
QuotaOwner = Callable[[Scope], "str | None"]
# Creates the vendor's missing projects a workspace names; a line per object created.
EnsureWanted = Callable[[WantedProjects], list[str]]

TRANSPORT_EXTENSION = "converge.transport"
CONTROL_PREFIX = "/__sandbox/"
CLIENT_GONE = 499  # logged status of a request whose client went away (nginx's 499)
SHARED_ACCOUNT = ""
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
_JSON = (b"content-type", b"application/json")
_MAX_CONTROL_BODY = 64 * 1024 * 1024

logger = logging.getLogger(__name__)


async def _respond(send: Send, status: int, body: bytes, headers: Headers) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [_JSON, (b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _number(value: float) -> bytes:
    return f"{value:g}".encode()


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
        quota_owner: QuotaOwner | None = None,
        ensure: EnsureWanted | None = None,
        control_token: str | None = None,
    ):
        self.app = app
        self.vendor = vendor
        self.log = log
        self.profile = profile_for(vendor)
        spec = faults or FaultSpec()
        self.injector = FaultInjector(spec, vendor) if spec.applies_to(vendor) else None
        self.limits = rate_limits or RateLimitSpec()
        self.limiter = FixedWindowLimiter(vendor, self.limits)
        self.clock = clock
        self.gate = gate
        self.quota_owner = quota_owner
        self.ensure = ensure
        self.control_token = control_token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(CONTROL_PREFIX):
            await self._control(scope, receive, send)
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
            if fault.kind in (FaultKind.ERROR, FaultKind.DROP):
                status = fault.status or 503
                fault_name = "error"
                await _respond(send, status, self.profile.error_body(status), self._retry(status))
                return
            state = self._count(scope, method, path, now)
            extra: Headers = self._limit_headers(state, now) if state is not None else []
            if state is not None and state.exceeded:
                status, fault_name = 429, "rate_limited"
                wait = str(state.seconds_to_reset(now)).encode()
                body = self.profile.rate_limited_body(state, now)
                await _respond(send, 429, body, [*extra, (b"retry-after", wait)])
                return
            if fault.kind is FaultKind.LOST_RESPONSE:
                fault_name = "lost_response"
                status = await self._lose_response(scope, receive, send)
                return

            async def send_with_headers(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    if extra:
                        message = {**message, "headers": [*message.get("headers", ()), *extra]}
                await send(message)

            await self.app(scope, receive, send_with_headers)
        except ClientDisconnect:
            status = CLIENT_GONE
            logger.info("%s %s %s: the client went away before the request was read",
                        self.vendor, method, path)
        finally:
            if status == 0 and fault_name != "drop":
                status = 500  # the app raised before answering; uvicorn answers 500
            duration = round((time.perf_counter() - started) * 1000, 3)
            self.log.record(
                RequestEntry(now, self.vendor, method, path, status, duration, fault_name)
            )

    def _count(self, scope: Scope, method: str, path: str, now: float) -> WindowState | None:
        """Charge the request to its account's counters (None: not counted at all)."""
        rules = self.profile.rules(method, path)
        if not rules or not self.limits.enabled:
            return None
        owner = self.quota_owner(scope) if self.quota_owner is not None else SHARED_ACCOUNT
        if owner is None:
            return None
        return self.limiter.hit(rules, now, account=owner)

    def _limit_headers(self, state: WindowState, now: float) -> Headers:
        """The vendor's rate-limit headers, plus the sandbox's own when the limit is not
        the documented one (so a scaled benchmark never passes for the real service)."""
        headers = self.profile.limit_headers(state, now)
        if self.limits.scale != 1.0:
            headers.append((b"x-sandbox-ratelimit-scale", _number(self.limits.scale)))
        if state.limit != state.rule.limit:
            headers.append((b"x-sandbox-ratelimit-documented", _number(state.rule.limit)))
        return headers

    async def _lose_response(self, scope: Scope, receive: Receive, send: Send) -> int:
        """Run the emulator to completion (the write commits), then close the connection
        without sending a byte of its answer; return the status it had answered."""
        answered = 0

        async def swallow(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                answered = int(message["status"])

        await self.app(scope, receive, swallow)
        if not await self._drop(scope):
            await _respond(send, 502, self.profile.error_body(502), [])
        return answered

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

    async def _control(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if not client or client[0] not in _LOOPBACK_HOSTS:
            await _respond(send, 403, b'{"message":"loopback only"}', [])
            return
        if scope["path"].rstrip("/") == "/__sandbox/workspace":
            await self._workspace(scope, receive, send)
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

    async def _workspace(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``POST /__sandbox/workspace``: create this vendor's missing projects of the
        workspace description in the body (see the module docstring)."""
        if scope["method"] != "POST":
            await _respond(send, 405, b'{"message":"method not allowed"}', [])
            return
        if not self._authorised(scope):
            await _respond(send, 401, b'{"message":"a control token is required"}', [])
            return
        try:
            wanted = parse_wanted(json.loads(await _read_body(receive)))
        except (ValueError, UnicodeDecodeError) as exc:
            body = json.dumps({"message": str(exc)}).encode()
            await _respond(send, 400, body, [])
            return
        if self.gate is not None and not self.gate.is_open:
            await self.gate.wait_async()
        if self.gate is not None and self.gate.error is not None:
            await _respond(send, 503, b'{"message":"the emulator is not seeded"}', [])
            return
        try:
            created = await asyncio.to_thread(self.ensure, wanted) if self.ensure else []
        except Exception as exc:  # answered, so the CLI reports it in one sentence
            logger.exception("%s: creating the workspace's projects failed", self.vendor)
            body = json.dumps({"message": f"{type(exc).__name__}: {exc}"}).encode()
            await _respond(send, 500, body, [])
            return
        await _respond(send, 200, json.dumps({"created": created}).encode(), [])

    def _authorised(self, scope: Scope) -> bool:
        if not self.control_token:
            return False
        headers = dict(scope.get("headers") or [])
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), self.control_token.encode()
        )


async def _read_body(receive: Receive) -> bytes:
    """The request body (at most ``_MAX_CONTROL_BODY`` bytes; ValueError past that)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ValueError("the client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > _MAX_CONTROL_BODY:
            raise ValueError("the workspace description is too large")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
