"""Serve several ASGI apps on 127.0.0.1 from one event loop in a background thread.

The sandbox runs its three emulators this way: one loop (uvloop when installed) and
uvicorn's httptools protocol, which keeps a keep-alive request well under a millisecond.
``SandboxHttpProtocol`` also hands the connection's transport to the app through
``scope["extensions"]`` so the fault middleware can drop a connection without answering.
Sockets are bound before the thread starts, so a busy port fails fast and free ports
(port 0) are known at once.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from converge.errors import SandboxError
from converge_sandbox.middleware import TRANSPORT_EXTENSION
from converge_sandbox.serving import LOOPBACK


class SandboxHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, exposing the transport to the app (for drops)."""

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        scope = cast(dict[str, Any], self.scope)
        if scope is not None:
            scope.setdefault("extensions", {})[TRANSPORT_EXTENSION] = self.transport


def bind_loopback(port: int) -> socket.socket:
    """A TCP socket bound to 127.0.0.1:``port`` (0 = a free port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((LOOPBACK, port))
    except OSError as exc:
        sock.close()
        raise SandboxError(
            f"cannot listen on {LOOPBACK}:{port}: {exc.strerror}",
            hint="choose another --port-base, or stop what uses the port",
        ) from None
    sock.set_inheritable(False)
    return sock


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings uvloop
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


@dataclass
class ServedGroup:
    """Running servers by name; ``stop()`` shuts them all down and joins the thread."""

    ports: dict[str, int]
    _servers: list[uvicorn.Server] = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def url(self, name: str) -> str:
        return f"http://{LOOPBACK}:{self.ports[name]}"

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        for server in self._servers:
            server.should_exit = True
        self._thread.join(timeout)


def bind_all(
    names: Iterable[str], ports: Mapping[str, int] | None = None
) -> dict[str, socket.socket]:
    """Bind one loopback socket per name (port 0 or missing = free); all or none."""
    sockets: dict[str, socket.socket] = {}
    try:
        for name in names:
            sockets[name] = bind_loopback((ports or {}).get(name, 0))
    except SandboxError:
        for sock in sockets.values():
            sock.close()
        raise
    return sockets


def serve_apps(
    apps: Mapping[str, Any], *, sockets: Mapping[str, socket.socket] | None = None,
    ready_timeout: float = 10.0,
) -> ServedGroup:
    """Serve each app on its socket (from ``bind_all``; free ports if none) and return
    once all accept."""
    sockets = dict(sockets) if sockets is not None else bind_all(apps)
    servers: list[uvicorn.Server] = []
    for app in apps.values():
        config = uvicorn.Config(
            app,
            http=SandboxHttpProtocol,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_keep_alive=30,
            timeout_graceful_shutdown=2,
        )
        servers.append(uvicorn.Server(config))

    async def run_all() -> None:
        await asyncio.gather(
            *(s.serve(sockets=[sockets[name]]) for s, name in zip(servers, apps, strict=True))
        )

    def run() -> None:
        loop = _new_loop()
        try:
            loop.run_until_complete(run_all())
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="sandbox-servers", daemon=True)
    thread.start()
    deadline = time.monotonic() + ready_timeout
    while not all(s.started for s in servers):
        if not thread.is_alive() or time.monotonic() > deadline:
            for server in servers:
                server.should_exit = True
            raise SandboxError("the sandbox servers did not start")
        time.sleep(0.005)
    ports_by_name = {name: sock.getsockname()[1] for name, sock in sockets.items()}
    return ServedGroup(ports=ports_by_name, _servers=servers, _thread=thread)
