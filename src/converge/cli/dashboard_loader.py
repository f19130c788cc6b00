"""The dashboard, imported only when a command needs it.

The dashboard's web layer (``converge.dashboard``) needs starlette, Jinja2 and uvicorn,
installed by the extra ``converge[dashboard]``; a plain install carries none of them.
The CLI never imports that package statically (``.importlinter`` keeps it so):
``converge dashboard`` and ``converge watch --metrics-port`` call ``load_dashboard()``,
which imports ``converge.dashboard.facade`` by name and turns a missing library into
``DashboardNotInstalled`` (one sentence, exit 1). ``DashboardApi`` is the part of the
dashboard the CLI relies on; the facade declares that it satisfies it, so mypy checks
both sides.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Protocol, cast

from converge.config.workspace import Workspace
from converge.engine.journal import Journal
from converge.errors import DashboardNotInstalled

DASHBOARD_MODULE = "converge.dashboard.facade"
# Named here too so `converge dashboard --help` needs no extra.
TOKEN_ENV = "CONVERGE_DASHBOARD_TOKEN"


class ServedView(Protocol):
    """A server running in a background thread (the dashboard's, or the metrics')."""

    @property
    def url(self) -> str: ...

    @property
    def port(self) -> int: ...

    def stop(self) -> None: ...


class DashboardApi(Protocol):
    """What the CLI calls on ``converge.dashboard.facade``."""

    def serve_dashboard(
        self,
        workspace: Workspace,
        journal: Journal,
        *,
        bind: str,
        port: int,
        token: str | None,
        refresh: int,
    ) -> ServedView: ...

    def serve_watch(
        self,
        workspace: Workspace,
        journal: Journal,
        *,
        port: int,
        metrics: Callable[[], bytes],
        healthy: Callable[[], bool],
        refresh: int,
    ) -> ServedView: ...


def load_dashboard() -> DashboardApi:
    """``converge.dashboard.facade``; DashboardNotInstalled when a library it needs is
    absent. A missing module *inside* ``converge.dashboard`` is a bug and propagates."""
    try:
        module = importlib.import_module(DASHBOARD_MODULE)
    except ModuleNotFoundError as error:
        missing = error.name or DASHBOARD_MODULE
        if missing.startswith("converge."):
            raise
        raise DashboardNotInstalled(missing) from None
    return cast(DashboardApi, module)
