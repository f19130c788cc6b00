"""Progressive rollout: apply a project wave by wave (regions), with a gate between waves.

Waves come from project.yaml ``rollout.waves`` (auth-service: ``[[eu-west], [us-east]]``).
Only Supabase is regional (one project ref per region), so:

* wave 1 applies the non-regional systems (Infisical, Vercel) together with the Supabase
  refs of its regions and the refs that have no region: everything the regions share goes
  out with the canary;
* every later wave applies only the Supabase refs of its regions;
* regions that no wave names go out in one last wave (nothing is silently left behind);
* a project without regions is one wave of everything; with regions but no ``rollout``
  block, each region is its own wave (sorted) under the default gate.

After each wave (the last one too) the gate runs (``rollout_gates``). On a failed gate or a
failed wave apply, ``on_failure: rollback`` re-applies the last clean revision's artifacts
(see ``rollback``) to every wave applied so far, the failing one included, newest first and
limited to each wave's systems and regions; ``halt`` stops where it is. A first rollout has
no clean revision to return to: it halts and says so.

Journal: each wave is a ``rollout-wave`` run (partial, so never a restore point). When
every wave passed its gate, a run of command ``rollout`` with no operation records that
the whole revision is out and checked: that one is a restore point for rollback later.
Wave rollbacks are ``rollback`` runs. Each run has its audit line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from converge.config.models import Gate, Project
from converge.desired import DesiredState
from converge.engine.audit import current_actor
from converge.engine.audit_trail import workspace_trail
from converge.engine.context import ReconcileOptions, RunContext
from converge.engine.locks import acquire_lock
from converge.engine.reconcile import ApplyObserver, apply_project
from converge.engine.trust import ROLLBACK_COMMAND, trusted_artifacts
from converge.errors import ConvergeError
from converge.ops.rollback import (
    RestorePoint,
    apply_revision,
    last_clean_point,
    revision_artifacts,
)
from converge.ops.rollout_gates import GateContext, GateResult, run_gate

log = logging.getLogger(__name__)

WAVE_COMMAND = "rollout-wave"
DONE_COMMAND = "rollout"
REGIONAL_SYSTEMS = ("supabase",)


@dataclass(frozen=True)
class Wave:
    number: int
    regions: tuple[str, ...]
    first: bool

    @property
    def systems(self) -> tuple[str, ...] | None:
        """None (every system) for the first wave; only the regional ones after."""
        return None if self.first else REGIONAL_SYSTEMS

    @property
    def selection(self) -> tuple[str | None, ...] | None:
        """The engine's region filter (``ReconcileOptions.regions``)."""
        if not self.regions:
            return None
        return (*self.regions, None) if self.first else self.regions

    def options(self, command: str) -> ReconcileOptions:
        """What the engine applies for this wave (its systems and regions only)."""
        return ReconcileOptions(systems=self.systems, regions=self.selection, command=command)

    def describe(self) -> str:
        where = ", ".join(self.regions) if self.regions else "all regions"
        return f"{where} + non-regional systems" if self.first and self.regions else where


def plan_waves(project: Project, desired: DesiredState) -> list[Wave]:
    """The waves of ``project``, in order (see the module docstring)."""
    known = set((project.regions or {}).keys())
    if desired.supabase is not None:
        known |= {p.region for p in desired.supabase.projects if p.region}
    return waves_for(project, known)


def waves_for(project: Project, known: set[str]) -> list[Wave]:
    """The waves of ``project`` over the regions ``known`` (``project.yaml``'s regions
    alone, for who shows the plan without rendering: the dashboard)."""
    if not known:
        return [Wave(1, (), True)]
    groups = (
        [list(w) for w in project.rollout.waves]
        if project.rollout is not None
        else [[r] for r in sorted(known)]
    )
    named = {r for g in groups for r in g}
    rest = sorted(known - named)
    if rest:
        groups.append(rest)
    return [Wave(i + 1, tuple(g), i == 0) for i, g in enumerate(groups) if g]


def _rolled_out(waves: list[Wave]) -> tuple[str | None, ...] | None:
    """The engine's region filter for everything waves ``waves`` applied."""
    if any(w.selection is None for w in waves):
        return None
    return tuple(dict.fromkeys(r for w in waves for r in w.selection or ()))


def _refs_of(desired: DesiredState, waves: list[Wave]) -> frozenset[str]:
    """The Supabase refs the (later) ``waves`` will apply."""
    regions = {r for w in waves for r in w.regions}
    projects = desired.supabase.projects if desired.supabase else ()
    return frozenset(p.ref for p in projects if p.region in regions)


@dataclass
class WaveReport:
    wave: Wave
    status: str = "pending"  # pending | applied | failed
    run_id: str | None = None
    counts: Mapping[str, int] = field(default_factory=dict)
    error: str | None = None
    gate: GateResult | None = None
    rollback: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "wave": self.wave.number,
            "regions": list(self.wave.regions),
            "systems": list(self.wave.systems) if self.wave.systems else "all",
            "status": self.status,
            "run_id": self.run_id,
            "counts": dict(self.counts),
            "error": self.error,
            "gate": self.gate.to_json() if self.gate else None,
            "rollback": self.rollback,
        }


@dataclass
class RolloutReport:
    project: str
    revision: str | None
    on_failure: str
    waves: list[WaveReport]
    restore_point: RestorePoint | None
    outcome: str = "pending"  # completed | rolled_back | halted | rollback_failed
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome == "completed"

    def to_json(self) -> dict[str, Any]:
        point = self.restore_point
        return {
            "project": self.project,
            "revision": self.revision,
            "on_failure": self.on_failure,
            "outcome": self.outcome,
            "message": self.message,
            "restore_point": (
                {"revision": point.revision, "run_id": point.run_id} if point else None
            ),
            "waves": [w.to_json() for w in self.waves],
        }


def rollout_project(
    context: RunContext,
    project: str,
    *,
    revision: str | None = None,
    observer: ApplyObserver | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_wave: Callable[[WaveReport], None] | None = None,
) -> RolloutReport:
    """Roll ``project``'s current artifacts out wave by wave; never raises for a failed
    wave or gate (the report says what happened), only for what stops it from starting
    (stale artifacts, invalid project.yaml). ``revision`` is the git revision recorded
    with each run (``ops.apply.project_revision``). The report is kept in the journal as
    the project's last rollout (``Journal.reports``: the dashboard shows its waves and
    gates)."""
    report = _roll_out(
        context, project, revision=revision, observer=observer, sleep=sleep, on_wave=on_wave
    )
    try:
        context.require_journal().reports.record(
            project, "rollout", report.to_json(), command=DONE_COMMAND
        )
    except ConvergeError as exc:
        log.warning("the rollout report of %s was not kept: %s", project, exc.message)
    return report


def _roll_out(
    context: RunContext,
    project: str,
    *,
    revision: str | None,
    observer: ApplyObserver | None,
    sleep: Callable[[float], None],
    on_wave: Callable[[WaveReport], None] | None,
) -> RolloutReport:
    workspace = context.workspace
    journal = context.require_journal()
    trusted = trusted_artifacts(workspace, project)
    desired = trusted.desired
    config = workspace.load_project(project).project
    revision = revision or trusted.revision
    waves = plan_waves(config, desired)
    rollout = config.rollout
    gate = rollout.gate if rollout is not None else Gate()
    on_failure = rollout.on_failure if rollout is not None else "rollback"
    report = RolloutReport(
        project=project,
        revision=revision,
        on_failure=on_failure,
        waves=[WaveReport(w) for w in waves],
        restore_point=last_clean_point(journal, project),
    )
    for wave_report in report.waves:
        wave = wave_report.wave
        try:
            outcome = apply_project(
                context,
                project,
                options=wave.options(WAVE_COMMAND),
                observer=observer,
                git_revision=revision,
                artifacts=trusted,
            )
        except ConvergeError as exc:
            wave_report.status, wave_report.error = "failed", exc.message
            if on_wave:
                on_wave(wave_report)
            _on_failure(context, report, wave_report)
            return report
        wave_report.status, wave_report.run_id = "applied", outcome.run_id
        wave_report.counts = dict(outcome.counts)
        wave_report.gate = run_gate(
            gate,
            GateContext(
                context,
                project,
                regions=_rolled_out(waves[: wave.number]),
                pending_refs=_refs_of(desired, waves[wave.number :]),
            ),
            sleep=sleep,
        )
        if on_wave:
            on_wave(wave_report)
        if not wave_report.gate.passed:
            _on_failure(context, report, wave_report)
            return report
    _record_completed(context, desired, revision=revision)
    report.outcome = "completed"
    report.message = f"all {len(waves)} wave(s) of {project} rolled out"
    return report


def _record_completed(context: RunContext, desired: DesiredState, *, revision: str | None) -> None:
    """A ``rollout`` run without operations: the whole revision is out and passed its
    gates (a restore point, unlike the partial wave runs)."""
    journal = context.require_journal()
    actor = current_actor(context.env)
    trail = workspace_trail(context.workspace, journal)
    with acquire_lock(journal, desired.project, command=DONE_COMMAND, actor=actor) as lock:
        trail.check()
        run = journal.begin_run(
            desired.project,
            systems=list(desired.systems),
            command=DONE_COMMAND,
            actor=actor,
            git_revision=revision,
            decision_id=desired.decision_id,
            manifest_digest=desired.manifest_digest,
            audit_log=trail.key,
        )
        lock.set_run_id(run.id)
        trail.finish_run(run, "succeeded", {})


def _on_failure(context: RunContext, report: RolloutReport, failing: WaveReport) -> None:
    why = (
        f"wave {failing.wave.number} failed to apply"
        if failing.status == "failed"
        else f"wave {failing.wave.number} failed its gate"
    )
    if report.on_failure == "halt":
        report.outcome = "halted"
        report.message = f"{why}; halted (on_failure: halt)"
        return
    point = report.restore_point
    if point is None:
        report.outcome = "halted"
        report.message = f"{why}; no earlier clean revision of {report.project} to roll back to"
        return
    done = [w for w in report.waves if w.status in ("applied", "failed")]
    try:
        artifacts = revision_artifacts(context.workspace, report.project, point)
        for wave_report in reversed(done):
            restored = apply_revision(
                context, artifacts, options=wave_report.wave.options(ROLLBACK_COMMAND)
            )
            wave_report.rollback = restored.to_json()
    except ConvergeError as exc:
        report.outcome = "rollback_failed"
        report.message = f"{why}; rolling back to {point.describe()} failed: {exc.message}"
        return
    report.outcome = "rolled_back"
    report.message = f"{why}; {len(done)} wave(s) rolled back to {point.describe()}"
