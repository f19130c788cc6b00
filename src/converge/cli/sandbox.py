"""``converge sandbox …``: run, inspect and reset the local vendor emulators.

The emulators are the optional package ``converge_sandbox`` (``converge[sandbox]``); each
command loads it when it runs (``sandbox_loader``), so ``converge sandbox --help`` works
without it and a command says how to install it.
"""

from __future__ import annotations

import shlex
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import NoReturn

import click

from converge.cli.sandbox_loader import (
    FAULTS_ENV,
    RATE_LIMITS_ENV,
    RunningSandboxView,
    SandboxApi,
    load_sandbox,
)
from converge.cli.sandbox_names import WorkspaceTargets, workspace_targets
from converge.errors import ConvergeError

_WORKSPACE_HELP = "Workspace directory (default: nearest parent holding converge.yaml, else cwd)."


def _workspace_root(api: SandboxApi, workspace: Path | None) -> Path:
    """The workspace named here, else by ``converge --workspace`` or $CONVERGE_WORKSPACE,
    else the nearest one above the current folder."""
    if workspace is None:
        ctx = click.get_current_context(silent=True)
        given = ctx.find_root().ensure_object(dict).get("workspace_dir") if ctx else None
        workspace = Path(given) if given else None
    return api.find_workspace(workspace)


def _state_dir(api: SandboxApi, workspace: Path | None) -> Path:
    """The sandbox state of that workspace."""
    return api.state_dir_for(_workspace_root(api, workspace))


def _load() -> SandboxApi:
    """The sandbox package; without it, the install sentence and exit 1."""
    try:
        return load_sandbox()
    except ConvergeError as error:
        _fail(error)


def _print_exports(env: dict[str, str]) -> None:
    for name, value in env.items():
        click.echo(f"export {name}={shlex.quote(value)}")
    sys.stdout.flush()


def _report(error: ConvergeError) -> None:
    click.echo(f"error: {error.render()}", err=True)
    if error.hint:
        click.echo(f"hint: {error.hint}", err=True)


def _fail(error: ConvergeError) -> NoReturn:
    _report(error)
    sys.exit(error.exit_code)


workspace_option = click.option(
    "--workspace",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=_WORKSPACE_HELP,
)


@click.group()
def sandbox() -> None:
    """Run the local Infisical, Vercel and Supabase emulators.

    \b
    Example:
      converge sandbox serve            # in one terminal
      eval "$(converge sandbox env)"    # in another
    """


@sandbox.command()
@click.option(
    "--port-base",
    type=int,
    default=None,
    help="Serve Infisical on N, Vercel on N+1, Supabase on N+2 (default: free ports).",
)
@click.option(
    "--faults",
    envvar=FAULTS_ENV,
    show_envvar=True,
    default=None,
    help="Inject faults, e.g. latency=150ms,jitter=20ms,error_rate=0.2,"
    "error_codes=429/503,drop_rate=0.02,lost_response_rate=0.05,fail_write=3,vendor=vercel,"
    "seed=7.",
)
@click.option(
    "--rate-limits",
    envvar=RATE_LIMITS_ENV,
    show_envvar=True,
    default=None,
    help="real (the default: documented limits) | off | scale=N, window=60s, "
    "<vendor>.<rule>=N.",
)
@workspace_option
def serve(
    port_base: int | None, faults: str | None, rate_limits: str | None, workspace: Path | None
) -> None:
    """Serve the three emulators on 127.0.0.1 until interrupted.

    Prints `export NAME=value` lines once all three accept connections; SIGINT or SIGTERM
    stops the servers and the PostgreSQL they started. The Infisical and Vercel projects
    and the Supabase refs the workspace's projects name are created if missing (a
    Supabase database on its first SQL use); projects added to the workspace later are
    created before the next command uses the sandbox.

    \b
    Example:
      converge sandbox serve --port-base 4100 --faults error_rate=0.1,seed=7
    """
    api = _load()
    root = _workspace_root(api, workspace)
    named = workspace_targets(root)
    for problem in named.problems:
        click.echo(f"warning: not served, fix it first: {problem}", err=True)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = _serve_until(
            api, stop, api.state_dir_for(root), faults or "", rate_limits or "", port_base,
            named.targets,
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if code:
        sys.exit(code)


def _serve_until(
    api: SandboxApi,
    stop: threading.Event,
    state_dir: Path,
    faults: str,
    rate_limits: str,
    port_base: int | None,
    targets: WorkspaceTargets,
) -> int:
    """Run the sandbox until ``stop`` is set; the exit code."""
    try:
        running = api.start_sandbox(
            state_dir, faults=faults, rate_limits=rate_limits, port_base=port_base,
            workspace=targets,
        )
    except ConvergeError as error:
        _report(error)
        return error.exit_code
    try:
        _print_exports(running.env)
        threading.Thread(target=_await_background, args=(running,), daemon=True).start()
        while not stop.wait(0.5):
            if not running.servers.alive:
                click.echo("error: the sandbox servers stopped unexpectedly", err=True)
                return 1
        return 0
    finally:
        running.stop()


def _await_background(running: RunningSandboxView) -> None:
    try:
        running.wait_seeded()
        summary = _created_summary(running.created)
        if summary:
            click.echo(f"Created what the workspace names: {summary}.", err=True)
        running.record_database_pid()
    except ConvergeError as error:
        click.echo(f"warning: {error.render()}", err=True)


def _created_summary(created: dict[str, list[str]]) -> str:
    """``3 Infisical, 3 Vercel, 3 Supabase objects``-style counts of what was created."""
    names = {"infisical": "Infisical", "vercel": "Vercel", "supabase": "Supabase"}
    parts = [f"{len(lines)} {names.get(vendor, vendor)}" for vendor, lines in created.items()
             if lines]
    return ", ".join(parts) + " objects" if parts else ""


@sandbox.command()
@workspace_option
def env(workspace: Path | None) -> None:
    """Print `export NAME=value` lines for the running sandbox.

    \b
    Example:
      eval "$(converge sandbox env)"
    """
    api = _load()
    try:
        _print_exports(api.running_env(_state_dir(api, workspace)))
    except ConvergeError as error:
        _fail(error)


@sandbox.command()
@workspace_option
def reset(workspace: Path | None) -> None:
    """Delete the sandbox's stored objects, credentials, request log and database.

    Refuses while a sandbox runs for the workspace: stop it first. The next `serve` (or
    command with target sandbox) starts from the seeded world and creates again the
    projects the workspace names.

    \b
    Example:
      converge sandbox reset --workspace examples/workspace
    """
    api = _load()
    state_dir = _state_dir(api, workspace)
    try:
        removed = api.reset_state(state_dir)
    except ConvergeError as error:
        _fail(error)
    if removed:
        click.echo(f"Reset the sandbox state in {state_dir}; the next start creates the "
                   "workspace's projects again.")
    else:
        click.echo(f"Nothing to reset in {state_dir}.")
