"""One watch cycle of one project, built on the engine: check drift, heal if asked.

    check   under the project lock (command ``watch``): ``detect_drift`` observes every
            system and records when each drift was first seen; no vendor write
    heal    (``--heal`` and drift found) ``apply_project`` under its own lock, journaled
            and audited like ``converge apply``; then a second check confirms the heal
    report  metrics (object states, drift ages, runs, last success) are refreshed from
            the report and the journal after every cycle, whatever its outcome

A ConvergeError never escapes a cycle: it becomes a ``FAILED`` report (the loop backs off)
or, for a lock held by another run, ``BUSY`` (tried again next turn, no backoff). The
check releases the lock before the heal takes it again: the engine's apply holds its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from converge.engine.audit import current_actor
from converge.engine.context import RunContext
from converge.engine.journal import Journal
from converge.engine.locks import acquire_lock
from converge.engine.reconcile import apply_project
from converge.errors import ConvergeError, LockHeldError
from converge.ops.drift import DriftReport, detect_drift
from converge.ops.metrics import ConvergeMetrics
from converge.ops.metrics_journal import refresh_from_journal
from converge.ops.watch import CycleReport, Outcome

WATCH_COMMAND = "watch"


@dataclass
class EngineCycle:
    """The ``Cycle`` of ``converge watch``: real vendors (or the sandbox) and journal.

    ``context.options`` is what a heal applies (its ``systems`` are also the systems
    checked); the context must hold the journal."""

    context: RunContext
    metrics: ConvergeMetrics
    heal: bool = False

    @property
    def journal(self) -> Journal:
        return self.context.require_journal()

    def __call__(self, project: str) -> CycleReport:
        try:
            report = self._cycle(project)
        except LockHeldError as exc:
            report = CycleReport(project, Outcome.BUSY, exc.render())
        except ConvergeError as exc:
            report = CycleReport(project, Outcome.FAILED, exc.render())
        try:
            refresh_from_journal(self.metrics, self.journal, [project])
        except ConvergeError as exc:
            if not report.outcome.failure:
                report = CycleReport(project, Outcome.FAILED, f"metrics: {exc.render()}")
        return report

    def _cycle(self, project: str) -> CycleReport:
        report = self._check(project)
        if not report.has_drift:
            self.metrics.record_success(project)
            return CycleReport(project, Outcome.IN_SYNC, "in sync")
        found = len(report.items)
        if not self.heal:
            return CycleReport(project, Outcome.DRIFT, _describe(report), changes=found)
        outcome = apply_project(self.context, project)
        self.metrics.mark_in_sync(project, self.journal.managed_objects(project))
        after = self._check(project)
        applied = len(outcome.applied)
        if after.has_drift:
            return CycleReport(
                project,
                Outcome.FAILED,
                f"applied {applied} change(s) but drift remains: {_describe(after)}",
                changes=len(after.items),
            )
        self.metrics.record_success(project)
        return CycleReport(
            project, Outcome.HEALED, f"healed: {applied} change(s) applied", changes=applied
        )

    def _check(self, project: str) -> DriftReport:
        with acquire_lock(
            self.journal, project, command=WATCH_COMMAND, actor=current_actor(self.context.env)
        ):
            report = detect_drift(self.context, project, systems=self.context.options.systems)
            self.metrics.observe_drift(report, self.journal.managed_objects(project))
        return report


def _describe(report: DriftReport) -> str:
    counts = ", ".join(f"{n} {kind}" for kind, n in report.counts().items() if n)
    return f"drift: {counts}"
