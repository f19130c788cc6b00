"""Rollback: re-apply an earlier revision's artifacts (architecture §5, §6).

A rollback is an ordinary apply of other, older artifacts: ``.out/<p>/`` as committed at
an earlier git revision is read from git and verified by the trust gate
(``engine.trust.verify_revision``): the revision's own inputs, read from git, must pass
today's validation, today's built-in rules and today's user policies, and re-decided and
re-rendered in memory they must give exactly the committed files. Its decision and
manifest are records, never taken on their word. The engine then applies that render
under the project lock, journaled as a run with command ``rollback`` and an audit line.
A revision that fails is refused, naming the rule and file, never applied.

Restore points come from the journal: a succeeded ``apply`` or ``rollback`` run, or the
``rollout`` run that records a completed rollout, whose git revision was recorded.
Partial runs (``rollout-wave``: one wave's regions only) are not restore points. A
rollback limited to some systems or regions is one: it re-applied that revision's
artifacts, and what it did not touch was already at a clean revision.
``apply`` records a revision only when ``.out/<p>/`` was clean in git, so a restore point's
revision always holds exactly what that run applied.

The workspace's own ``.out/<p>/`` is left as it is: after a rollback, ``plan`` shows what
re-applying the current artifacts would change again (like ``helm rollback``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from converge.config.workspace import Workspace
from converge.desired import DesiredState
from converge.engine.context import ReconcileOptions, RunContext
from converge.engine.git import RevisionError, read_folder_at, resolve_commit
from converge.engine.journal import Journal, RunRecord
from converge.engine.reconcile import ApplyObserver, ApplyOutcome, apply_project
from converge.engine.trust import ROLLBACK_COMMAND, TrustedArtifacts, verify_revision
from converge.errors import (
    ConfigError,
    ConfigErrors,
    ConvergeError,
    PolicyDenied,
    StaleArtifactError,
)

RESTORE_COMMANDS = frozenset({"apply", "rollback", "rollout"})
_HISTORY = 500


class RollbackRefused(ConvergeError):
    """There is nothing (verifiable) to roll back to."""


@dataclass(frozen=True)
class RestorePoint:
    """A revision to re-apply and, when known, the run that applied it before."""

    revision: str  # full commit id
    run_id: str | None = None
    manifest_digest: str | None = None

    @property
    def short(self) -> str:
        return self.revision[:12]

    def describe(self) -> str:
        return f"{self.short} (run {self.run_id})" if self.run_id else self.short


@dataclass(frozen=True)
class RevisionArtifacts:
    """An earlier revision's artifacts, verified (re-checked and re-rendered in memory)."""

    point: RestorePoint
    trusted: TrustedArtifacts

    @property
    def desired(self) -> DesiredState:
        return self.trusted.desired


@dataclass
class RollbackOutcome:
    point: RestorePoint
    apply: ApplyOutcome

    def to_json(self) -> dict[str, Any]:
        return {
            "revision": self.point.revision,
            "restored_run_id": self.point.run_id,
            "run_id": self.apply.run_id,
            "counts": dict(self.apply.counts),
        }


# -- choosing the revision ----------------------------------------------------------------


def _restore_points(journal: Journal, project: str) -> list[RunRecord]:
    """Succeeded full applies with a recorded revision, newest first."""
    return [
        run
        for run in journal.last_runs(project, _HISTORY)
        if run.result == "succeeded" and run.command in RESTORE_COMMANDS and run.git_revision
    ]


def _point(run: RunRecord) -> RestorePoint:
    assert run.git_revision is not None
    return RestorePoint(run.git_revision, run.id, run.manifest_digest)


def last_clean_point(journal: Journal, project: str) -> RestorePoint | None:
    """The newest revision that applied cleanly: what automatic rollback restores."""
    runs = _restore_points(journal, project)
    return _point(runs[0]) if runs else None


def previous_point(journal: Journal, project: str) -> RestorePoint | None:
    """The last successful apply's revision before the current one (``rollback`` without
    ``--to``): the newest clean run whose artifacts differ from the newest successful
    run's (what is live now)."""
    succeeded = [
        run
        for run in journal.last_runs(project, _HISTORY)
        if run.result == "succeeded" and run.command in RESTORE_COMMANDS
    ]
    if not succeeded:
        return None
    current = succeeded[0]
    for run in succeeded[1:]:
        if not run.git_revision:
            continue
        if current.manifest_digest and run.manifest_digest == current.manifest_digest:
            continue
        if not current.manifest_digest and run.git_revision == current.git_revision:
            continue
        return _point(run)
    return None


def resolve_point(
    workspace: Workspace, journal: Journal, project: str, to: str | None
) -> RestorePoint:
    """What ``converge rollback P --to X`` restores: X is a run id of the journal or a git
    revision; without X, the previous successful apply's revision."""
    if to is None:
        point = previous_point(journal, project)
        if point is None:
            raise RollbackRefused(
                f"{project} has no earlier successful apply with a recorded git revision",
                hint="name one with --to GIT_REV (see converge status for runs)",
            )
        return point
    run = journal.get_run(to)
    if run is not None:
        if run.project != project:
            raise RollbackRefused(f"run {to} belongs to project {run.project}, not {project}")
        if not run.git_revision:
            raise RollbackRefused(
                f"run {to} of {project} has no git revision recorded "
                "(its artifacts were not committed when it ran), so it cannot be restored",
                hint="roll back to a git revision with --to GIT_REV",
            )
        return _point(run)
    commit = resolve_commit(workspace.root, to)
    if commit is None:
        raise RollbackRefused(
            f"{to!r} is neither a run of {project} nor a git revision",
            hint="see converge status for run ids, git log for revisions",
        )
    known = next((r for r in _restore_points(journal, project) if r.git_revision == commit), None)
    return _point(known) if known else RestorePoint(commit)


# -- reading and verifying the revision -------------------------------------------------


def revision_artifacts(
    workspace: Workspace, project: str, point: RestorePoint
) -> RevisionArtifacts:
    """``.out/<p>/`` as of ``point.revision``, verified. Raises RollbackRefused when the
    revision cannot be applied (one sentence naming the rule or file)."""
    relative = (Path(workspace.settings.out) / project).as_posix()
    try:
        files = read_folder_at(workspace.root, point.revision, relative)
    except RevisionError as exc:
        raise RollbackRefused(exc.message, hint=exc.hint) from None
    if not files:
        raise RollbackRefused(
            f"revision {point.short} has no {relative}/ to restore",
            hint="roll back to a revision whose rendered artifacts were committed",
        )
    try:
        trusted = verify_revision(
            workspace,
            project,
            point.revision,
            files,
            lead=f"revision {point.short} of {project} cannot be applied: ",
        )
    except (StaleArtifactError, PolicyDenied, ConfigError, ConfigErrors) as exc:
        raise RollbackRefused(
            exc.message,
            hint="only a revision whose inputs today's rules allow and whose committed "
            "artifacts are exactly what they render is applied",
        ) from None
    if point.manifest_digest and trusted.desired.manifest_digest != point.manifest_digest:
        raise RollbackRefused(
            f"revision {point.short} of {project} does not hold the artifacts run "
            f"{point.run_id} applied (manifest digest differs)",
            hint="roll back to a git revision with --to GIT_REV",
        )
    return RevisionArtifacts(point, trusted)


# -- applying ---------------------------------------------------------------------------


def apply_revision(
    context: RunContext,
    artifacts: RevisionArtifacts,
    *,
    options: ReconcileOptions | None = None,
    observer: ApplyObserver | None = None,
) -> RollbackOutcome:
    """Apply already verified revision artifacts as a ``rollback`` run (``options``
    default to ``context.options``; never adopting)."""
    outcome = apply_project(
        context,
        artifacts.desired.project,
        options=replace(options or context.options, command=ROLLBACK_COMMAND, adopt=False),
        observer=observer,
        git_revision=artifacts.point.revision,
        artifacts=artifacts.trusted,
    )
    return RollbackOutcome(artifacts.point, outcome)


def rollback_project(
    context: RunContext,
    project: str,
    point: RestorePoint,
    *,
    options: ReconcileOptions | None = None,
    observer: ApplyObserver | None = None,
) -> RollbackOutcome:
    """Re-apply ``point``'s artifacts of ``project``."""
    artifacts = revision_artifacts(context.workspace, project, point)
    return apply_revision(context, artifacts, options=options, observer=observer)


# -- automatic rollback after a failed apply ------------------------------------------------


@dataclass(frozen=True)
class AutoRollback:
    """What automatic rollback did after a failed apply.

    status: ``restored``, ``nothing_written`` (the failed run made no write),
    ``no_restore_point`` or ``failed`` (the rollback itself failed; ``message`` says why).
    """

    status: str
    point: RestorePoint | None = None
    run_id: str | None = None
    counts: Mapping[str, int] | None = None
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "revision": self.point.revision if self.point else None,
            "restored_run_id": self.point.run_id if self.point else None,
            "run_id": self.run_id,
            "counts": dict(self.counts or {}),
            "message": self.message,
        }


def failed_run_of_this_process(
    journal: Journal, project: str, newer_than: str | None
) -> RunRecord | None:
    """The failed run this process just recorded for ``project`` (after ``newer_than``)."""
    for run in journal.last_runs(project, 5):
        if newer_than is not None and run.id <= newer_than:
            return None
        if run.host == journal.host and run.pid == os.getpid() and run.result == "failed":
            return run
    return None


def newest_run_id(journal: Journal, project: str) -> str | None:
    runs = journal.last_runs(project, 1)
    return runs[0].id if runs else None


def auto_rollback(
    context: RunContext,
    project: str,
    failed: RunRecord,
    *,
    options: ReconcileOptions | None = None,
    observer: ApplyObserver | None = None,
) -> AutoRollback:
    """After ``failed`` (an apply that stopped part-way), re-apply the last revision that
    applied cleanly, limited to the systems the failed apply touched."""
    journal = context.require_journal()
    options = options or context.options
    if not journal.operations(failed):
        return AutoRollback("nothing_written", message="the failed apply made no write")
    point = last_clean_point(journal, project)
    if point is None:
        return AutoRollback(
            "no_restore_point",
            message=f"{project} has no earlier clean revision to roll back to",
        )
    try:
        done = rollback_project(
            context,
            project,
            point,
            options=replace(options, systems=tuple(failed.systems) or options.systems),
            observer=observer,
        )
    except ConvergeError as exc:
        return AutoRollback("failed", point=point, message=exc.message)
    return AutoRollback("restored", point=point, run_id=done.apply.run_id, counts=done.apply.counts)
