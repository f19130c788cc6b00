"""Serve an ASGI app with uvicorn from a background thread, on a socket bound up front.

Why bind first: a taken port or an address this host does not have fails at once with
one sentence (not uvicorn's log and ``sys.exit``), and port 0 gives a free port whose
number is known before the first request. uvicorn installs no signal handler outside
the main thread, so the caller (``converge dashboard``, ``converge watch``) keeps its
own SIGTERM/SIGINT handling and calls ``stop()``.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass, field

import uvicorn
from starlette.types import ASGIApp

from converge.errors import DashboardError

READY_TIMEOUT_S = 10.0


def bind(host: str, port: int, *, what: str = "the dashboard", option: str = "--port"
         ) -> socket.socket:
    """A listening-ready TCP socket on ``host``:``port`` (IPv4, IPv6 or a name); errors
    name ``what`` is served and the ``option`` that chose the port."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise DashboardError(
            f"cannot serve {what} on {host}:{port} ({exc.strerror or 'unknown host'})",
            hint="pass --bind with an address of this machine",
        ) from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise DashboardError(
            f"cannot serve {what} on {host}:{port} ({exc.strerror or 'bind failed'})",
            hint=f"choose another {option} (0 picks a free one), or stop what uses it",
        ) from None
    sock.set_inheritable(False)
    return sock


@dataclass
class ServedApp:
    """A running server; ``url`` is its base address (``http://host:port``)."""

    host: str
    port: int
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _socket: socket.socket = field(repr=False)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
        self._socket.close()


def serve(
    app: ASGIApp,
    host: str,
    port: int,
    *,
    what: str = "the dashboard",
    option: str = "--port",
) -> ServedApp:
    """Serve ``app`` on ``host``:``port`` (0: a free port) and return once it accepts."""
    sock = bind(host, port, what=what, option=option)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,  # a login's ?token= must not reach a log
        lifespan="off",
        timeout_graceful_shutdown=2,
        server_header=False,
    )
    server = uvicorn.Server(config)

    def run() -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(server.serve(sockets=[sock]))
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="converge-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise DashboardError(f"the server of {what} on {host}:{port} did not start")
        time.sleep(0.005)
    bound = sock.getsockname()
    return ServedApp(host=host, port=int(bound[1]), _server=server, _thread=thread, _socket=sock)
