"""The run context of a command that talks to vendors, built in one place.

``open_run`` resolves ``--target`` (``cli.options.target_options``) to the vendor
environment (starting the sandbox for the command when needed), opens the workspace's
journal, and hands the library one ``RunContext`` with the command's request counter
(the one ``--metrics-file`` reports), options and ``--config`` (Infisical credentials).
``stop_on_signals`` turns SIGTERM/SIGINT into a stop request the runs honour between
writes.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from types import FrameType

import click

from converge.cli.options import vendor_target
from converge.cli.target import resolve_target, vendor_environment
from converge.config.workspace import Workspace
from converge.engine.context import ReconcileOptions, RunContext
from converge.engine.journal import Journal, open_journal
from converge.ops.metrics import command_counter


def workspace_journal(workspace: Workspace) -> Journal:
    """The workspace's run journal (a context manager: closed at the end of the block)."""
    return open_journal(workspace.settings.state, workspace.root)


@contextmanager
def open_run(
    ctx: click.Context,
    workspace: Workspace,
    *,
    options: ReconcileOptions | None = None,
    journal: bool = True,
) -> Iterator[RunContext]:
    """The command's ``RunContext`` (from its ``--target`` and ``--config``), valid until
    the block ends (the sandbox started for the command stops, the journal closes).
    ``journal=False`` for commands that only read the vendors (``health``)."""
    target, infisical_config = vendor_target(ctx)
    resolved = resolve_target(workspace, target)
    with ExitStack() as stack:
        env = stack.enter_context(vendor_environment(workspace, resolved))
        opened = stack.enter_context(workspace_journal(workspace)) if journal else None
        yield RunContext(
            workspace,
            env=env,
            journal=opened,
            counter=command_counter(ctx.find_root().ensure_object(dict)),
            options=options or ReconcileOptions(),
            infisical_config=infisical_config,
            sandbox=resolved == "sandbox",
        )


@contextmanager
def stop_on_signals(run: RunContext) -> Iterator[None]:
    """SIGTERM or SIGINT while the block runs: every run of the command stops before its
    next write, journaled and logged as interrupted (exit 128 + the signal); a second
    SIGINT interrupts at once. Installed only in the main thread (Python delivers
    signals there alone); the handlers in place before are restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, _frame: FrameType | None) -> None:
        if run.stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        run.request_stop(signum)

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
