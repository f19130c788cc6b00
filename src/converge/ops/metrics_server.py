"""Serve ``/metrics`` (Prometheus text format) and ``/healthz`` on 127.0.0.1.

Why a small stdlib server and not ``prometheus_client.start_http_server``: the watch needs
a health endpoint beside the metrics and a clean ``stop()`` on SIGTERM, and it must never
listen beyond loopback. One thread per request (scrapes are rare and short).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST

from converge.errors import ConvergeError

LOOPBACK = "127.0.0.1"


@dataclass
class MetricsServer:
    """A running server; ``url`` is its base address."""

    server: ThreadingHTTPServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve_metrics(
    render: Callable[[], bytes],
    healthy: Callable[[], bool],
    *,
    port: int = 0,
) -> MetricsServer:
    """Start serving in a daemon thread; ``port=0`` picks a free port.

    ``render`` gives the exposition body; ``healthy`` decides 200 or 503 on ``/healthz``.
    """

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, render(), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                ok = healthy()
                self._send(200 if ok else 503, b"ok\n" if ok else b"stopping\n")
            else:
                self._send(404, b"not found: try /metrics or /healthz\n")

        def _send(self, status: int, body: bytes, ctype: str = "text/plain; charset=utf-8") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return None  # scrapes are not worth a line each

    try:
        server = ThreadingHTTPServer((LOOPBACK, port), Handler)
    except OSError as exc:
        raise ConvergeError(
            f"cannot serve metrics on {LOOPBACK}:{port} ({exc.strerror or 'bind failed'})",
            hint="choose another --metrics-port, or 0 for a free one",
        ) from None
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="converge-metrics", daemon=True)
    thread.start()
    return MetricsServer(server, thread)
