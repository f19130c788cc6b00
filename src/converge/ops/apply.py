"""Apply one project with what a team expects around it: the git revision recorded with
the run, automatic rollback when the apply fails part-way, and ``git commit`` of
``.out/<p>/`` once it succeeded. ``converge apply`` calls ``apply_with_rollback`` once per
project; a library caller gets the same by calling it.

Why here and not inside ``engine.reconcile.apply_project``: rollback re-applies an
earlier revision's artifacts read back from git (``ops.rollback``), and the layers
contract keeps the engine below ops (the engine never imports ops). ``apply_project``
stays one journaled apply of one set of artifacts; this module composes it with rollback
and git, as ``ops.rollout`` composes it with waves and gates.

``apply_with_rollback`` never raises for a failed apply (like ``rollout_project``): the
result holds the error and what automatic rollback did about it.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from converge.config.workspace import Workspace
from converge.engine.context import ReconcileOptions, RunContext
from converge.engine.reconcile import ApplyObserver, ApplyOutcome, apply_project
from converge.errors import ConvergeError
from converge.ops.rollback import (
    AutoRollback,
    auto_rollback,
    failed_run_of_this_process,
    newest_run_id,
)
from converge.ops.rollback_git import clean_revision

__all__ = [
    "ApplyResult",
    "CommitResult",
    "apply_with_rollback",
    "commit_artifacts",
    "project_revision",
]

# One git commit at a time: parallel projects (apply --jobs) share one repository index.
_GIT_LOCK = threading.Lock()


@dataclass(frozen=True)
class CommitResult:
    """What ``git commit`` of ``.out/<p>/`` did: ``folder`` is workspace-relative."""

    project: str
    committed: bool
    folder: str
    message: str


@dataclass(frozen=True)
class ApplyResult:
    """One project's apply: its outcome, or the error that stopped it and what automatic
    rollback did then (None: not attempted: disabled, or no run of this process failed);
    ``commit`` when the artifacts were to be committed after a success."""

    project: str
    outcome: ApplyOutcome | None = None
    error: ConvergeError | None = None
    rollback: AutoRollback | None = None
    commit: CommitResult | None = None


def project_revision(workspace: Workspace, project: str) -> str | None:
    """HEAD, recorded with the run only when ``.out/<p>/`` is committed as it is on disk
    (then the revision alone says what was applied, and rollback can restore it)."""
    relative = (Path(workspace.settings.out) / project).as_posix()
    return clean_revision(workspace.root, relative)


def apply_with_rollback(
    context: RunContext,
    project: str,
    *,
    options: ReconcileOptions | None = None,
    observer: ApplyObserver | None = None,
    rollback: bool = True,
    commit: bool = False,
) -> ApplyResult:
    """Apply ``project`` (``engine.reconcile.apply_project``) with the git revision of its
    artifacts. When it fails after its run started and ``rollback``, the last revision
    that applied cleanly is re-applied to the systems the failed run touched
    (``ops.rollback.auto_rollback``; its brief lines are not observed). After a success
    and with ``commit``, ``.out/<p>/`` is committed to git."""
    journal = context.require_journal()
    before: str | None = None
    try:
        before = newest_run_id(journal, project)
        outcome = apply_project(
            context,
            project,
            options=options,
            observer=observer,
            git_revision=project_revision(context.workspace, project),
        )
    except ConvergeError as exc:
        failed = failed_run_of_this_process(journal, project, before)
        restored = None
        if failed is not None and rollback:
            restored = auto_rollback(context, project, failed, options=options)
        return ApplyResult(project, error=exc, rollback=restored)
    done = commit_artifacts(context.workspace, project) if commit else None
    return ApplyResult(project, outcome=outcome, commit=done)


def commit_artifacts(workspace: Workspace, project: str) -> CommitResult:
    """``git add`` and ``git commit`` ``.out/<p>/`` alone, as ``chore: Reconciled <p>
    <stamp>``; ``committed`` is False when git made no commit (nothing changed, or no
    repository)."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = workspace.out_dir(project)
    message = f"chore: Reconciled {project} {stamp}"
    root = str(workspace.root)
    with _GIT_LOCK:
        subprocess.run(["git", "-C", root, "add", "--", str(out)], check=False)
        done = subprocess.run(
            ["git", "-C", root, "commit", "-m", message, "--", str(out)],
            capture_output=True,
            text=True,
            check=False,
        )
    folder = out.relative_to(workspace.root).as_posix()
    return CommitResult(project, done.returncode == 0, folder, message)
