"""What the converge CLI uses of the dashboard, in the one module it imports by name.

``converge.cli.dashboard_loader`` imports this module with ``importlib`` (typed by its
``DashboardApi`` protocol) when ``converge dashboard`` runs, or when ``converge watch``
serves its metrics port: importing it pulls in starlette, Jinja2 and uvicorn, so a
missing extra shows up at load time as one sentence, not halfway through a command.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from converge.config.workspace import Workspace
from converge.dashboard.access import TOKEN_ENV, is_loopback, required_token
from converge.dashboard.app import create_app
from converge.dashboard.server import ServedApp, serve
from converge.engine.journal import Journal
from converge.ops.overview import OverviewSource

if TYPE_CHECKING:  # mypy checks this module against what the CLI expects of it
    import converge.dashboard.facade as _this
    from converge.cli.dashboard_loader import DashboardApi

    _conforms: DashboardApi = _this

__all__ = ["TOKEN_ENV", "is_loopback", "serve_dashboard", "serve_watch"]

LOOPBACK = "127.0.0.1"


def serve_dashboard(
    workspace: Workspace,
    journal: Journal,
    *,
    bind: str,
    port: int,
    token: str | None,
    refresh: int,
) -> ServedApp:
    """``converge dashboard``: the pages on ``bind``:``port``, in a background thread.

    Refuses (``DashboardError``) a non-loopback ``bind`` without a token, or a weak one."""
    needed = required_token(bind, token)
    app = create_app(OverviewSource(workspace, journal), token=needed, refresh=refresh)
    return serve(app, bind, port)


def serve_watch(
    workspace: Workspace,
    journal: Journal,
    *,
    port: int,
    metrics: Callable[[], bytes],
    healthy: Callable[[], bool],
    refresh: int,
) -> ServedApp:
    """``converge watch --metrics-port``: ``/metrics`` and ``/healthz`` as before (same
    bodies and codes as ``ops.metrics_server``), and the dashboard's pages beside them,
    on loopback only."""

    def scrape(request: Request) -> Response:
        return Response(metrics(), media_type=CONTENT_TYPE_LATEST)

    def health(request: Request) -> Response:
        ok = healthy()
        return Response(
            b"ok\n" if ok else b"stopping\n",
            status_code=200 if ok else 503,
            media_type="text/plain; charset=utf-8",
        )

    app = create_app(
        OverviewSource(workspace, journal),
        refresh=refresh,
        extra_routes=(
            Route("/metrics", scrape, methods=["GET"]),
            Route("/healthz", health, methods=["GET"]),
        ),
    )
    return serve(app, LOOPBACK, port, what="metrics and the dashboard",
                 option="--metrics-port")
