"""Serve an ASGI app on a loopback port from a background thread.

Used by ``converge sandbox serve``, by ``--target sandbox`` and by test fixtures, so that
every caller talks real HTTP over 127.0.0.1.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import uvicorn

from converge.errors import SandboxError

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ServedApp:
    """A running uvicorn server; ``stop()`` shuts it down and joins its thread (as leaving
    a ``with`` block over it does)."""

    url: str
    port: int
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self, timeout: float = 5.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)

    def __enter__(self) -> ServedApp:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def serve_in_thread(app: Any, *, port: int = 0, ready_timeout: float = 10.0) -> ServedApp:
    """Start ``app`` on 127.0.0.1:``port`` (0 = a free port) and return once it accepts."""
    chosen = port or free_port()
    config = uvicorn.Config(
        app,
        host=LOOPBACK,
        port=chosen,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_keep_alive=30,
    )
    server = uvicorn.Server(config)
    # uvicorn captures signals only on the main thread, so a server in a thread leaves
    # SIGINT/SIGTERM to the process that started it.
    thread = threading.Thread(target=server.run, name=f"sandbox-{chosen}", daemon=True)
    thread.start()
    deadline = time.monotonic() + ready_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise SandboxError(f"sandbox server on {LOOPBACK}:{chosen} did not start")
        time.sleep(0.01)
    return ServedApp(url=f"http://{LOOPBACK}:{chosen}", port=chosen, server=server, thread=thread)
