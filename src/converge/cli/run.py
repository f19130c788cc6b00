"""The run context of a command that talks to vendors, built in one place.

``open_run`` resolves ``--target`` (``cli.options.target_options``) to the vendor
environment (starting the sandbox for the command when needed), opens the workspace's
journal, and hands the library one ``RunContext`` with the command's request counter
(the one ``--metrics-file`` reports), options and ``--config`` (Infisical credentials).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

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
    with ExitStack() as stack:
        env = stack.enter_context(vendor_environment(workspace, resolve_target(workspace, target)))
        opened = stack.enter_context(workspace_journal(workspace)) if journal else None
        yield RunContext(
            workspace,
            env=env,
            journal=opened,
            counter=command_counter(ctx.find_root().ensure_object(dict)),
            options=options or ReconcileOptions(),
            infisical_config=infisical_config,
        )
