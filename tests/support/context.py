"""Run contexts for tests that call the engine and ops functions directly, built as the
CLI builds them (``cli/run.py``): the workspace, a vendor environment and, unless told
otherwise, the workspace's own journal."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from converge.config.workspace import open_workspace
from converge.engine.context import RunContext
from converge.engine.journal import open_journal


@contextmanager
def run_context(
    root: Path, env: Mapping[str, str], *, journal: bool = True, **fields: Any
) -> Iterator[RunContext]:
    """A ``RunContext`` for the workspace at ``root`` (journal closed afterwards);
    ``fields`` set the others (``counter``, ``options``, ``transports``, …)."""
    workspace = open_workspace(root)
    if not journal:
        yield RunContext(workspace, env=env, **fields)
        return
    with open_journal(workspace.settings.state, workspace.root) as opened:
        yield RunContext(workspace, env=env, journal=opened, **fields)
