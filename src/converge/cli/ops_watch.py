"""``converge watch`` and the ``--metrics-file`` writer: parsing and printing only.

The loop is ``converge.ops.watch.Watcher``, one cycle ``ops.watch_cycle.EngineCycle``, the
metrics ``ops.metrics``. Exported for ``cli/main.py``: the ``watch`` command,
``write_command_metrics`` (the hook the ``cli`` group runs at exit) and
``metrics_file_option`` (lets a subcommand accept ``--metrics-file`` after its name).
"""

from __future__ import annotations

import datetime as dt
import signal
import threading
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import click

from converge.cli.dashboard import serve_watch_port
from converge.cli.dashboard_loader import ServedView
from converge.cli.options import (
    output_format,
    output_option,
    project_selection,
    select_projects,
    system_option,
    target_options,
    workspace_from_context,
)
from converge.cli.output import finish
from converge.cli.run import open_run, workspace_journal
from converge.config.workspace import open_workspace
from converge.engine.context import ReconcileOptions
from converge.errors import ConvergeError
from converge.ops.metrics import ConvergeMetrics, command_counter, write_textfile
from converge.ops.metrics_journal import journal_projects, refresh_from_journal
from converge.ops.watch import (
    BackoffPolicy,
    CycleReport,
    Outcome,
    Watcher,
    format_interval,
    parse_interval,
)
from converge.ops.watch_cycle import EngineCycle

__all__ = ["INTERVAL", "metrics_file_option", "watch", "write_command_metrics"]

F = TypeVar("F", bound=Callable[..., Any])

METRICS_KEY = "metrics"
METRICS_FILE_KEY = "metrics_file"
_MARK = {
    Outcome.IN_SYNC: "✅",
    Outcome.DRIFT: "⚠️ ",
    Outcome.HEALED: "🩹",
    Outcome.FAILED: "❌",
    Outcome.BUSY: "🔒",
}


class IntervalType(click.ParamType[float, Any]):
    """``30s``, ``5m``, ``1h`` (or ``1h30m``) as seconds."""

    name = "interval"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, int | float):
            return float(value)
        try:
            return parse_interval(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


INTERVAL = IntervalType()


# -- --metrics-file -----------------------------------------------------------------------


def _remember_metrics_file(ctx: click.Context, _: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.find_root().ensure_object(dict)[METRICS_FILE_KEY] = value


def metrics_file_option(func: F) -> F:
    """``--metrics-file PATH`` after a subcommand's name (same as before it)."""
    return click.option(
        "--metrics-file",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        expose_value=False,
        callback=_remember_metrics_file,
        help="At exit, write metrics here in node_exporter textfile format (atomic).",
    )(func)


def write_command_metrics(state: MutableMapping[str, Any]) -> None:
    """At the end of every command: write ``--metrics-file`` if one was given.

    A command that built its own metrics (``watch``) has them written as they are;
    otherwise the journal of the workspace (every project it knows) and the command's
    request counter are exported. A failure is a warning: the command's own exit code
    stands.
    """
    path = state.get(METRICS_FILE_KEY)
    if not path:
        return
    try:
        metrics = state.get(METRICS_KEY)
        if not isinstance(metrics, ConvergeMetrics):
            metrics = ConvergeMetrics(command_counter(state))
            _load_journal(metrics, state.get("workspace_dir"))
        write_textfile(metrics, Path(path))
    except ConvergeError as exc:
        click.echo(f"warning: metrics not written: {exc.render()}", err=True)


def _load_journal(metrics: ConvergeMetrics, workspace_dir: Path | None) -> None:
    try:
        workspace = open_workspace(workspace_dir)
    except ConvergeError:
        return  # no workspace (e.g. `converge schema`): only the process's counters
    with workspace_journal(workspace) as journal:
        names = set(workspace.project_names()) | set(journal_projects(journal))
        refresh_from_journal(metrics, journal, sorted(names))


# -- converge watch -----------------------------------------------------------------------




@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM/SIGINT: finish the cycle in hand, then stop. A second SIGINT interrupts
    the cycle (the journal records the run as interrupted; the locks are released).
    Installed only in the main thread (Python delivers signals there alone)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _print_report(
    report: CycleReport, delay: float, *, stopping: bool, json_out: bool = False
) -> None:
    """One line per cycle: stdout (a failure: stderr); all on stderr with --output json."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    after = "" if stopping else f"; next check in {format_interval(delay)}"
    line = f"{stamp} {_MARK[report.outcome]} {report.project}: {report.message}{after}"
    click.echo(line, err=json_out or report.outcome is Outcome.FAILED)


def _report_json(report: CycleReport) -> dict[str, Any]:
    return {
        "project": report.project,
        "outcome": report.outcome.value,
        "message": report.message,
        "changes": report.changes,
    }


def _exit_code(reports: list[CycleReport]) -> int:
    outcomes = {r.outcome for r in reports}
    if Outcome.FAILED in outcomes:
        return 1
    if Outcome.BUSY in outcomes:
        return 3
    return 2 if Outcome.DRIFT in outcomes else 0


@click.command()
@project_selection
@click.option(
    "--interval",
    type=INTERVAL,
    default="5m",
    show_default=True,
    help="Time between checks of a project (30s, 5m, 1h).",
)
@click.option("--heal", is_flag=True, help="Apply when drift is found (default: only report).")
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Serve /metrics, /healthz and the dashboard's pages (with converge[dashboard]) "
    "on 127.0.0.1:N (0: a free port, printed).",
)
@click.option("--once", is_flag=True, help="One check per project, then exit 0/2/1 like drift.")
@click.option(
    "--max-backoff",
    type=INTERVAL,
    default="1h",
    show_default=True,
    help="Longest wait after repeated failures (the wait doubles per failure).",
)
@click.option(
    "--jitter",
    type=click.FloatRange(0.0, 0.5),
    default=0.1,
    show_default=True,
    help="Random share added to or taken from each wait.",
)
@system_option
@target_options
@metrics_file_option
@output_option("text", "json")
@click.pass_context
def watch(
    ctx: click.Context,
    projects: tuple[str, ...],
    all_projects: bool,
    interval: float,
    heal: bool,
    metrics_port: int | None,
    once: bool,
    max_backoff: float,
    jitter: float,
    systems: tuple[str, ...],
) -> None:
    """Check projects for drift on an interval; with --heal, apply what drifted.

    Each cycle runs a drift check (no writes) under the project's lock; a failure
    doubles the project's wait (up to --max-backoff). SIGTERM or Ctrl-C finishes the
    check in hand, releases the locks and exits 0. With --output json the cycle lines go
    to stderr and the last report of each project is printed as one document at exit.

    \b
    Example:
      converge watch --all --interval 5m --metrics-port 9464
      converge watch journal --once --heal --metrics-file /var/lib/node_exporter/converge.prom
    """
    state = ctx.find_root().ensure_object(dict)
    workspace = workspace_from_context(ctx)
    names = select_projects(workspace, projects, all_projects)
    metrics = ConvergeMetrics(command_counter(state))
    state[METRICS_KEY] = metrics
    metrics_file = state.get(METRICS_FILE_KEY)
    json_out = output_format(ctx) == "json"
    stop = threading.Event()
    options = ReconcileOptions(systems=tuple(systems) or None, command="apply")
    with (
        _stop_on_signals(stop),
        open_run(ctx, workspace, options=options) as run,
    ):
        refresh_from_journal(metrics, run.require_journal(), names)
        cycle = EngineCycle(context=run, metrics=metrics, heal=heal)

        def on_report(report: CycleReport, delay: float) -> None:
            metrics.record_cycle(report.project, report.outcome.value)
            _print_report(report, delay, stopping=once or stop.is_set(), json_out=json_out)
            if metrics_file:
                write_command_metrics(state)

        watcher = Watcher(
            names,
            cycle,
            BackoffPolicy(interval, max_backoff=max_backoff, jitter=jitter),
            on_report=on_report,
            stop_event=stop,
        )
        server: ServedView | None = None
        if metrics_port is not None:
            server, pages = serve_watch_port(
                workspace,
                run.require_journal(),
                port=metrics_port,
                metrics=metrics.render,
                healthy=lambda: not stop.is_set(),
            )
            click.echo(
                f"serving metrics on {server.url}/metrics and {server.url}/healthz"
                + (f", the dashboard on {server.url}/" if pages else ""),
                err=json_out,
            )
        if not once:
            mode = "heal" if heal else "report only"
            click.echo(
                f"watching {', '.join(names)} every {format_interval(interval)} ({mode}); "
                "SIGTERM or Ctrl-C stops after the current check",
                err=json_out,
            )
        try:
            reports = watcher.run(once=once)
        finally:
            if server is not None:
                server.stop()
    document = {
        "once": once,
        "metrics_url": f"{server.url}/metrics" if server is not None else None,
        "reports": [_report_json(r) for r in reports],
    }
    if not once:
        click.echo("stopped", err=json_out)
        finish(0, document)
    finish(_exit_code(reports), document)
