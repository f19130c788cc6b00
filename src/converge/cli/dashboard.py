"""``converge dashboard``, and the server ``converge watch`` runs on its metrics port.

Parsing and printing only: the pages are ``converge.dashboard`` (loaded by name, an
optional extra: ``cli.dashboard_loader``), their data ``converge.ops.overview``.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

import click

from converge.cli.dashboard_loader import TOKEN_ENV, ServedView, load_dashboard
from converge.cli.options import output_format, output_option, workspace_from_context
from converge.cli.output import emit_json
from converge.cli.run import workspace_journal
from converge.config.workspace import Workspace
from converge.engine.journal import Journal
from converge.errors import DashboardNotInstalled
from converge.ops.metrics_server import serve_metrics

__all__ = ["DEFAULT_REFRESH", "dashboard", "serve_watch_port"]

DEFAULT_REFRESH = 30


@contextmanager
def _until_signalled(stop: threading.Event) -> Iterator[None]:
    """SIGTERM or SIGINT sets ``stop`` (main thread only; the handlers before are
    restored after)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@click.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    help="TCP port (0: a free one, printed).",
)
@click.option(
    "--bind",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; beyond loopback a token is required.",
)
@click.option(
    "--token",
    envvar=TOKEN_ENV,
    default=None,
    help=f"Token every request must present (Bearer header, or a ?token= login that sets "
    f"a cookie); required beyond loopback. Default: ${TOKEN_ENV}.",
)
@click.option(
    "--refresh",
    type=click.IntRange(0, 86400),
    default=DEFAULT_REFRESH,
    show_default=True,
    help="Seconds between automatic page reloads (0: never).",
)
@output_option("text", "json")
@click.pass_context
def dashboard(
    ctx: click.Context, port: int, bind: str, token: str | None, refresh: int
) -> None:
    """Serve a read-only web page of every project, from the journal and audit log.

    Projects with their status, last run, drift (fields and age), rollout waves and
    gates, pending revocations and whether the audit chain verifies; a page per project
    with its runs and its last plan. Makes no vendor request and never shows a secret.
    Needs the extra converge[dashboard]. Ctrl-C or SIGTERM stops it.

    \b
    Example:
      converge dashboard --port 8080
      CONVERGE_DASHBOARD_TOKEN=$(cat token) converge dashboard --bind 0.0.0.0
    """
    workspace = workspace_from_context(ctx)
    json_out = output_format(ctx) == "json"
    api = load_dashboard()
    stop = threading.Event()
    with workspace_journal(workspace) as journal, _until_signalled(stop):
        server = api.serve_dashboard(
            workspace, journal, bind=bind, port=port, token=token, refresh=refresh
        )
        guarded = " (token required)" if token else ""
        click.echo(
            f"serving the dashboard on {server.url}/{guarded}; Ctrl-C stops it", err=json_out
        )
        if json_out:  # the one document, as soon as the pages are served
            emit_json({"url": f"{server.url}/", "token_required": bool(token)})
        try:
            while not stop.wait(0.5):
                pass
        finally:
            server.stop()
    click.echo("stopped", err=json_out)


def serve_watch_port(
    workspace: Workspace,
    journal: Journal,
    *,
    port: int,
    metrics: Callable[[], bytes],
    healthy: Callable[[], bool],
) -> tuple[ServedView, bool]:
    """``watch --metrics-port``: ``/metrics`` and ``/healthz``, plus the dashboard's pages
    when converge[dashboard] is installed; the flag says whether they are served."""
    try:
        api = load_dashboard()
    except DashboardNotInstalled:
        return serve_metrics(metrics, healthy, port=port), False
    served = api.serve_watch(
        workspace, journal, port=port, metrics=metrics, healthy=healthy,
        refresh=DEFAULT_REFRESH,
    )
    return served, True
