"""Plan and apply one project: the workflow the vendor packages plug into (architecture §6).

    RunContext        (engine/context.py) what the command's runs share: workspace,
                      vendor environment, journal, request counter, options, transports,
                      credentials
    load_desired      the trust gate (engine/trust.py): re-validate, re-decide and
                      re-render in memory; refuse unless .out/<p>/ is byte-identical;
                      the desired state is that render's artifacts
    Session           (engine/session.py) one client per vendor and the capabilities
                      between them
    plan_project      observe → diff per system; no writes
    apply_project     under the project lock, system by system in order: observe → settle
                      what a killed run left open → diff → for each change: journal
                      intent, apply, journal outcome; then minted credentials no variable
                      holds are revoked (``engine.credentials``) and the run's audit line
                      is written (``engine.audit_trail``: refused before any write when
                      the log lost the head the journal recorded)

Systems are applied one after another because a later one reads what an earlier one
made (a Vercel variable holds the client id of an Infisical identity created moments
before). Every request is counted in ``RequestCounter``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from converge.changes import Action, Change
from converge.config.workspace import Workspace
from converge.desired import DesiredState
from converge.engine.audit import current_actor
from converge.engine.audit_trail import AuditTrail, workspace_trail
from converge.engine.context import ReconcileOptions, RunContext
from converge.engine.credentials import JournalLedger, settle_credentials, settle_quietly
from converge.engine.journal import Journal, RunRecord
from converge.engine.journal_records import RunResult
from converge.engine.locks import acquire_lock
from converge.engine.objects import count_in_sync, system_objects
from converge.engine.plan import Plan, SystemPlan
from converge.engine.session import open_session
from converge.engine.settle import settle_open_operations
from converge.engine.trust import ROLLBACK_COMMAND, TrustedArtifacts, trusted_artifacts
from converge.errors import (
    ConvergeError,
    JournalError,
    RunInterrupted,
    VendorConflictError,
)
from converge.vendors.base import AppliedChange, BatchResult, SystemReconciler

log = logging.getLogger(__name__)


class DeletionBudgetError(ConvergeError):
    """A plan deletes too much of what converge manages; refused without a flag."""


class ApplyObserver(Protocol):
    """Progress callbacks, called as the run goes (the CLI prints the brief's lines and
    the live progress from them): a system planned (just before its writes), each change
    as soon as its outcome is journaled (for a batching vendor, as the vendor answers
    for it, not after the whole batch), a system done, the credentials revoked at the
    end. Called from the thread running the project (``apply --jobs`` runs several)."""

    def system_planned(self, project: str, plan: SystemPlan) -> None: ...

    def change_applied(self, project: str, change: Change, applied: AppliedChange) -> None: ...

    def change_failed(self, project: str, change: Change, error: ConvergeError) -> None: ...

    def system_applied(self, project: str, system: str, summary: Mapping[str, Any]) -> None: ...

    def credentials_revoked(self, project: str, revoked: Sequence[str]) -> None: ...


class SilentObserver:
    """An ``ApplyObserver`` that ignores everything: the base of observers that want only
    some of the callbacks."""

    def system_planned(self, project: str, plan: SystemPlan) -> None:
        return None

    def change_applied(self, project: str, change: Change, applied: AppliedChange) -> None:
        return None

    def change_failed(self, project: str, change: Change, error: ConvergeError) -> None:
        return None

    def system_applied(self, project: str, system: str, summary: Mapping[str, Any]) -> None:
        return None

    def credentials_revoked(self, project: str, revoked: Sequence[str]) -> None:
        return None


@dataclass
class ApplyOutcome:
    project: str
    run_id: str
    plan: Plan
    applied: list[Change] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    summaries: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    revoked: list[str] = field(default_factory=list)  # credentials revoked at the end


def load_desired(workspace: Workspace, project: str) -> DesiredState:
    """The desired state of ``project``: ``.out/<p>/`` verified against a fresh render
    (``engine.trust.trusted_artifacts``), or refused."""
    return trusted_artifacts(workspace, project).desired


def select_regions(desired: DesiredState, regions: tuple[str | None, ...] | None) -> DesiredState:
    """``desired`` with only the Supabase refs of ``regions`` (None: unchanged).

    Only Supabase is regional; a selection that leaves no ref drops the Supabase system."""
    if regions is None or desired.supabase is None:
        return desired
    kept = tuple(p for p in desired.supabase.projects if p.region in regions)
    supabase = replace(desired.supabase, projects=kept) if kept else None
    return replace(desired, supabase=supabase)


def check_deletion_budget(plan: SystemPlan, options: ReconcileOptions, in_sync: int) -> None:
    """Refuse to delete more than a share of the managed objects (or all) without a flag."""
    deletes = sum(1 for c in plan.changes if c.action is Action.DELETE)
    if not deletes or options.allow_mass_delete:
        return
    managed = deletes + in_sync + sum(1 for c in plan.changes if c.action is Action.UPDATE)
    share = deletes / managed
    if deletes == managed or share > options.max_delete_share:
        raise DeletionBudgetError(
            f"{plan.system}: the plan deletes {deletes} of {managed} managed objects "
            f"({share:.0%}), more than the {options.max_delete_share:.0%} allowed",
            hint="check the rendered artifacts; pass --allow-mass-delete if this is intended",
        )


def plan_system(
    reconciler: SystemReconciler,
    project: str,
    journal: Journal | None,
    *,
    settle_run: str | None = None,
) -> SystemPlan:
    """Observe and diff one system (no vendor write): its changes, its objects in sync
    (see ``engine.objects``) and what it could not verify.

    ``settle_run`` (apply, under the project lock) first settles what earlier runs left
    open against what observe found (``engine.settle``), then diffs with the journal's
    settled markers."""
    managed = journal.managed_objects(project, reconciler.system) if journal else []
    reconciler.observe(markers={m.key: m.marker for m in managed if m.marker})
    if (
        journal is not None
        and settle_run is not None
        and settle_open_operations(journal, project, reconciler, settle_run)
    ):
        managed = journal.managed_objects(project, reconciler.system)
        # Reads are answered from memory until the next write: no new request.
        reconciler.observe(markers={m.key: m.marker for m in managed if m.marker})
    changes = list(reconciler.diff())
    objects = system_objects(reconciler.desired_keys(), managed)
    return SystemPlan(
        system=reconciler.system,
        changes=tuple(changes),
        in_sync=count_in_sync(objects, changes),
        unverifiable=tuple(note.describe() for note in reconciler.notes),
    )


def plan_project(
    context: RunContext,
    project: str,
    *,
    options: ReconcileOptions | None = None,
    artifacts: TrustedArtifacts | None = None,
    record: bool = True,
) -> Plan:
    """Observe and diff every system; make no vendor write.

    Systems are planned independently against the live state, so a Vercel reference to
    an identity that does not exist yet is planned as a create without being resolved.
    ``options`` default to ``context.options``; ``artifacts`` (already verified, e.g. an
    earlier revision's that rollback re-applies) default to ``.out/<p>/`` verified by
    the trust gate. ``record`` keeps the plan as the project's last one in the journal
    (``plan``, ``apply --dry-run``; a rollout gate's partial plan passes False).
    """
    options = options or context.options
    trusted = artifacts or trusted_artifacts(context.workspace, project)
    desired = select_regions(trusted.desired, options.regions)
    with open_session(context, desired, options) as session:
        systems = tuple(
            plan_system(session.reconciler(s), project, context.journal) for s in session.systems
        )
    plan = Plan(
        project,
        desired.decision_id,
        desired.manifest_digest,
        systems,
        rollback_revision=trusted.revision,
    )
    if record and context.journal is not None:
        command = options.command if options.command == "plan" else f"{options.command} --dry-run"
        remember_plan(context.journal, plan, command=command)
    return plan


def remember_plan(
    journal: Journal, plan: Plan, *, command: str, run_id: str | None = None
) -> None:
    """Keep ``plan`` as the project's last plan (``Journal.reports``, for the dashboard).

    Informational: a journal that refuses it (a plan too large to keep) costs a warning,
    never the command's result."""
    try:
        journal.reports.record(plan.project, "plan", plan.to_json(), command=command,
                               run_id=run_id)
    except JournalError as exc:
        log.warning("the plan of %s was not kept for the dashboard: %s", plan.project,
                    exc.message)


def apply_project(
    context: RunContext,
    project: str,
    *,
    options: ReconcileOptions | None = None,
    observer: ApplyObserver | None = None,
    git_revision: str | None = None,
    artifacts: TrustedArtifacts | None = None,
) -> ApplyOutcome:
    """Apply ``project`` under its lock; every write journaled before and after it runs.

    ``options`` default to ``context.options``; ``git_revision`` is recorded with the run
    (a restore point for rollback when the run succeeds); ``artifacts`` (already
    verified) default to ``.out/<p>/`` verified by the trust gate. Artifacts of an
    earlier revision (the brief's ``git checkout`` recipe, or ``converge rollback``) are
    recorded with that revision, and an ``apply`` of them is journaled as a
    ``rollback``. Raises the ConvergeError that stopped the run, after journaling it as
    failed; ``ops.apply.apply_with_rollback`` adds automatic rollback and the git
    commit of the artifacts."""
    options = options or context.options
    journal = context.require_journal()
    workspace = context.workspace
    observer = observer or SilentObserver()
    trusted = artifacts or trusted_artifacts(workspace, project)
    if trusted.revision is not None:
        git_revision = trusted.revision
        if options.command == "apply":
            options = replace(options, command=ROLLBACK_COMMAND)
    desired = select_regions(trusted.desired, options.regions)
    actor = current_actor(context.env)
    trail = workspace_trail(workspace, journal)
    with (
        acquire_lock(journal, project, command=options.command, actor=actor) as lock,
        open_session(context, desired, options) as session,
    ):
        trail.check()  # a log that lost its recorded head is refused before any write
        run = journal.begin_run(
            project,
            systems=list(session.systems),
            command=options.command,
            actor=actor,
            git_revision=git_revision,
            decision_id=desired.decision_id,
            manifest_digest=desired.manifest_digest,
            audit_log=trail.key,
        )
        lock.set_run_id(run.id)
        session.set_ledger(JournalLedger(journal, project=project, run_id=run.id))

        def stop_check() -> None:
            context.raise_if_stopped(project, options.command)

        outcome = ApplyOutcome(
            project=project,
            run_id=run.id,
            plan=Plan(project, desired.decision_id, desired.manifest_digest, ()),
        )
        planned: list[SystemPlan] = []
        counts = {"created": 0, "updated": 0, "deleted": 0, "adopted": 0, "in_sync": 0}
        try:
            trail.settle()  # the runs begin_run found killed are logged, as interrupted
            for system in session.systems:
                stop_check()
                reconciler = session.reconciler(system)
                system_plan = plan_system(reconciler, project, journal, settle_run=run.id)
                planned.append(system_plan)
                check_deletion_budget(system_plan, options, system_plan.in_sync)
                conflicts = [c for c in system_plan.changes if c.action is Action.CONFLICT]
                if conflicts:
                    first = conflicts[0]
                    raise VendorConflictError(
                        f"{system}: {first.kind} {first.label or first.name} exists but is not "
                        f"managed by converge ({len(conflicts)} conflict(s))",
                        vendor=system,
                        hint="take it over with --adopt, or rename the desired object",
                    )
                observer.system_planned(project, system_plan)

                def observed(change: Change, result: BatchResult) -> None:
                    if isinstance(result, AppliedChange):
                        observer.change_applied(project, change, result)
                    else:
                        observer.change_failed(project, change, result)

                for change, _applied in _apply_all(
                    journal, run.id, reconciler, system_plan, stopped=stop_check,
                    observed=observed,
                ):
                    outcome.applied.append(change)
                    counts[_COUNT_OF[change.action]] += 1
                counts["in_sync"] += system_plan.in_sync
                summary = reconciler.summary()
                outcome.summaries[system] = summary
                observer.system_applied(project, system, summary)
            if "vercel" in session.systems:
                revoked = settle_credentials(session, journal, run.id)
                outcome.revoked = [r.describe() for r in revoked]
                if revoked:
                    counts["revoked"] = len(revoked)
                    observer.credentials_revoked(project, outcome.revoked)
        except RunInterrupted:
            if "vercel" in session.systems:
                settle_quietly(session, journal, run.id)
            _finish_after_error(trail, run, "interrupted", counts)
            remember_plan(journal, _planned(desired, planned), command=run.command,
                          run_id=run.id)
            raise
        except ConvergeError:
            if "vercel" in session.systems:
                settle_quietly(session, journal, run.id)
            _finish_after_error(trail, run, "failed", counts)
            remember_plan(journal, _planned(desired, planned), command=run.command,
                          run_id=run.id)
            raise
        except BaseException:
            # KeyboardInterrupt and the like: journaled and logged as interrupted at once.
            _finish_after_error(trail, run, "interrupted", counts)
            raise
        trail.finish_run(run, "succeeded", counts)
        outcome.plan = _planned(desired, planned)
        outcome.counts = counts
        remember_plan(journal, outcome.plan, command=run.command, run_id=run.id)
        return outcome


def _planned(desired: DesiredState, planned: Sequence[SystemPlan]) -> Plan:
    """What an apply planned (the systems it reached, when it stopped part-way)."""
    return Plan(desired.project, desired.decision_id, desired.manifest_digest, tuple(planned))


def _finish_after_error(
    trail: AuditTrail, run: RunRecord, result: RunResult, counts: Mapping[str, int]
) -> None:
    """Journal and log the run that an error stopped, keeping that error the one raised:
    a log that refuses the line leaves the run finished in the journal and owing it."""
    try:
        trail.finish_run(run, result, counts)
    except JournalError as exc:
        log.warning("run %s was not logged: %s", run.id, exc.message)


_COUNT_OF = {
    Action.CREATE: "created",
    Action.UPDATE: "updated",
    Action.DELETE: "deleted",
    Action.ADOPT: "adopted",
    Action.CONFLICT: "in_sync",
}


def _apply_all(
    journal: Journal,
    run_id: str,
    reconciler: SystemReconciler,
    plan: SystemPlan,
    *,
    stopped: Callable[[], None],
    observed: Callable[[Change, BatchResult], None],
) -> Iterator[tuple[Change, AppliedChange]]:
    """Apply the system's changes in plan order, journaling each before and after.

    A vendor that batches (Vercel: one upsert for many variables) gets all of them in
    one ``apply_batch`` call, every change journaled as intended before it and each
    outcome journaled as soon as the vendor answered for it (``on_result``), not after
    the whole batch: a kill between a vendor write and its record then loses one answer
    at most, which the next run settles against what it observes
    (``engine.settle``). The others get one ``apply`` call per change, each journaled as
    intended just before its call and as done just after. ``stopped`` raises
    ``RunInterrupted`` before a batch once a stop was requested. ``observed`` hears of
    each outcome right after it is journaled (live progress).
    """
    batches: Sequence[Sequence[Change]] = (
        [plan.changes] if reconciler.batches else [[c] for c in plan.changes]
    )
    for batch in batches:
        if not batch:
            continue
        stopped()
        record = _Recorder(
            journal, [journal.record_intent(run_id, c) for c in batch], batch, observed
        )
        results: Sequence[BatchResult]
        if reconciler.batches:
            results = reconciler.apply_batch(batch, on_result=record)
        else:
            results = [_apply_one(reconciler, batch[0])]
        failure: ConvergeError | None = None
        for index, (change, result) in enumerate(zip(batch, results, strict=True)):
            record(index, result)
            if isinstance(result, AppliedChange):
                yield change, result
            else:
                failure = failure or result
        if failure is not None:
            raise failure


class _Recorder:
    """Journals each outcome of a batch once, as soon as it is known (``ResultSink``),
    then tells ``observed``."""

    def __init__(
        self,
        journal: Journal,
        ops: list[int],
        batch: Sequence[Change],
        observed: Callable[[Change, BatchResult], None],
    ):
        self.journal = journal
        self.ops = ops
        self.batch = batch
        self.observed = observed
        self.recorded: set[int] = set()

    def __call__(self, index: int, result: BatchResult) -> None:
        if index in self.recorded:
            return
        self.recorded.add(index)
        if isinstance(result, AppliedChange):
            _record_outcome(self.journal, self.ops[index], self.batch[index], result)
        else:
            self.journal.record_failed(self.ops[index], result.message)
        self.observed(self.batch[index], result)


def _apply_one(reconciler: SystemReconciler, change: Change) -> BatchResult:
    """``apply``'s outcome as a result: a ConvergeError is journaled, then raised; any
    other exception propagates at once (the run is then recorded as interrupted)."""
    try:
        return reconciler.apply(change)
    except ConvergeError as exc:
        return exc


def _record_outcome(journal: Journal, op: int, change: Change, applied: AppliedChange) -> None:
    if change.action is Action.DELETE:
        # apply() returns only once a re-read confirmed the object is gone (architecture §6).
        journal.record_deleted(op)
        journal.record_confirmed(op)
        journal.record_forgotten(op)
    else:
        journal.record_done(
            op, vendor_id=applied.vendor_id, marker=applied.marker, fingerprint=applied.fingerprint
        )
