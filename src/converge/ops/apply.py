"""Apply one project with what a team expects around it: the git revision recorded with
the run, automatic rollback when the apply fails part-way, and ``git commit`` of
``.out/<p>/`` (with the inputs and user policies it was rendered from) once it succeeded,
that commit then recorded as the run's revision. ``converge apply`` calls
``apply_with_rollback`` once per project; a library caller gets the same by calling it.

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

from converge.config.workspace import Workspace, project_file_paths
from converge.engine.context import ReconcileOptions, RunContext
from converge.engine.git import clean_revision, head_commit
from converge.engine.reconcile import ApplyObserver, ApplyOutcome, apply_project
from converge.engine.trust import TrustedArtifacts
from converge.errors import ConvergeError
from converge.ops.rollback import (
    AutoRollback,
    auto_rollback,
    failed_run_of_this_process,
    newest_run_id,
)

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
    """What ``git commit`` of ``.out/<p>/`` did: ``folder`` is workspace-relative;
    ``revision`` is the commit made (None when git made none)."""

    project: str
    committed: bool
    folder: str
    message: str
    revision: str | None = None


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
    """HEAD, recorded with the run only when ``.out/<p>/`` and the project's inputs and
    user policies are committed as they are on disk (then the revision alone says what
    was applied, and rollback can re-check and restore it)."""
    relative = (Path(workspace.settings.out) / project).as_posix()
    return clean_revision(workspace.root, relative, _source_paths(workspace, project))


def _source_paths(workspace: Workspace, project: str) -> list[str]:
    """The project's input files (each one it may have, present or not: a deleted input
    is a change too) and the user policies, workspace-relative."""
    policies = [p.relative_to(workspace.root).as_posix() for p in workspace.policy_files()]
    return [*project_file_paths(project).values(), *policies]


def apply_with_rollback(
    context: RunContext,
    project: str,
    *,
    options: ReconcileOptions | None = None,
    observer: ApplyObserver | None = None,
    rollback: bool = True,
    commit: bool = False,
    artifacts: TrustedArtifacts | None = None,
) -> ApplyResult:
    """Apply ``project`` (``engine.reconcile.apply_project``; ``artifacts`` already
    verified, else ``.out/<p>/`` through the trust gate) with the git revision of its
    artifacts. When it fails after its run started and ``rollback``, the last revision
    that applied cleanly is re-applied to the systems the failed run touched
    (``ops.rollback.auto_rollback``; its brief lines are not observed). After a success
    and with ``commit``, ``.out/<p>/`` is committed to git with the inputs and user
    policies it was rendered from, and the run records that commit as its revision (a
    restore point for ``rollback --to <run id>``). The artifacts of an earlier revision
    (a rollback) are committed alone, the brief's audit trail, and the run keeps the
    revision it restored."""
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
            artifacts=artifacts,
        )
    except ConvergeError as exc:
        failed = failed_run_of_this_process(journal, project, before)
        restored = None
        if failed is not None and rollback:
            restored = auto_rollback(context, project, failed, options=options)
        return ApplyResult(project, error=exc, rollback=restored)
    if not commit:
        return ApplyResult(project, outcome=outcome)
    run = journal.get_run(outcome.run_id)
    restoring = run is not None and run.command != "apply"
    done = commit_artifacts(context.workspace, project, with_sources=not restoring)
    if done.revision is not None and not restoring:
        journal.record_git_revision(outcome.run_id, done.revision)
    return ApplyResult(project, outcome=outcome, commit=done)


def commit_artifacts(
    workspace: Workspace, project: str, *, with_sources: bool = True
) -> CommitResult:
    """``git add`` and ``git commit`` ``.out/<p>/`` (``with_sources``: and the project's
    inputs and user policies, so the commit alone reproduces the artifacts) as ``chore:
    Reconciled <p> <stamp>``; ``committed`` is False when git made no commit (nothing
    changed, or no repository)."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = workspace.out_dir(project)
    message = f"chore: Reconciled {project} {stamp}"
    root = str(workspace.root)
    paths = [str(out)]
    revision: str | None = None
    with _GIT_LOCK:
        if with_sources:
            paths += _committable(workspace, _source_paths(workspace, project))
        subprocess.run(["git", "-C", root, "add", "--", *paths], check=False)
        done = subprocess.run(
            ["git", "-C", root, "commit", "-m", message, "--", *paths],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode == 0:
            revision = head_commit(workspace.root)
    folder = out.relative_to(workspace.root).as_posix()
    return CommitResult(project, done.returncode == 0, folder, message, revision)


def _committable(workspace: Workspace, relative: list[str]) -> list[str]:
    """The paths git can add: those on disk, and those it tracks (a deletion to commit);
    ``git add`` refuses a path that is neither."""
    root = str(workspace.root)
    tracked = subprocess.run(
        ["git", "-C", root, "ls-files", "-z", "--", *relative],
        capture_output=True,
        check=False,
    )
    known = set(tracked.stdout.decode("utf-8").split("\0")) if tracked.returncode == 0 else set()
    return [
        str(workspace.root / path)
        for path in relative
        if (workspace.root / path).exists() or path in known
    ]
