"""Prometheus metrics of converge: what a dashboard or an alert needs to know.

Why a collector and not module-level ``Counter`` objects: the run history lives in the
journal, not in a process, so the totals below are read from the journal (they survive a
restart of ``converge watch`` and agree between a cron job's textfile and the watch
server); only what exists nowhere else (vendor requests, watch cycles) is counted in
memory. Each ``ConvergeMetrics`` owns its own ``CollectorRegistry``, so nothing leaks
between commands or tests. Label values are names (projects, systems, kinds, vendors,
HTTP methods); no value, token or fingerprint ever becomes a label.

Metrics (names follow Crossplane/Flux/Argo CD: ``converge_`` prefix, ``_total`` counters,
``_seconds`` units; ``docs/metrics.md`` has examples and alerts)::

    name                                       type       labels                  source
    converge_reconcile_runs_total              counter    project,command,result  journal
    converge_reconcile_duration_seconds        histogram  project,command         journal
    converge_managed_objects                   gauge      project,system,kind,    observation
                                                          state
    converge_drift_age_seconds                 gauge      project,system          journal
    converge_last_success_timestamp_seconds    gauge      project                 journal, watch
    converge_vendor_requests_total             counter    vendor,method,status    process
    converge_vendor_retries_total              counter    vendor                  process
    converge_rollbacks_total                   counter    project,result          journal
    converge_watch_cycles_total                counter    project,result          process

- runs: finished runs (result succeeded|failed|interrupted; a run still ``running`` is
  counted once it ends); durations: finished_at - started_at of the same runs.
- drift age: seconds since the oldest open drift of the system was first seen
  (``ops.drift_ages``, recorded by every drift check); 0 for a system in sync.
- last success: unix time of the last succeeded run, or of a watch check that found the
  project in sync.
- vendor requests/retries: the ``RequestCounter`` of this process (status is the HTTP
  status, 0 for a request that got no answer).
- rollbacks: the journal's runs of command ``rollback``, by result.
- watch cycles: result in_sync|drift|healed|failed|busy.

``state`` of an object, from a drift report (``converge drift``, each watch cycle) or a
plan: ``drifted`` the object differs from the artifacts (drift ``changed``/``added``; plan
update/delete); ``missing`` desired but absent (create); ``unmanaged`` one converge does
not own stands in the way (conflict, adopt); ``in_sync`` every other object the journal
says converge manages in the observed systems. Without a plan (a
command's ``--metrics-file`` after ``status``), a project whose last run succeeded reports
its managed objects as ``in_sync`` (an apply converges everything it touches); a project
in any other state reports none (unknown, not zero).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest, write_to_textfile
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from converge.changes import Action
from converge.engine.journal import ManagedObject
from converge.engine.plan import Plan
from converge.errors import ConvergeError
from converge.ops.drift import DriftReport
from converge.vendors.http import RequestCounter

__all__ = [
    "DURATION_BUCKETS",
    "STATES",
    "command_counter",
    "ConvergeMetrics",
    "JournalView",
    "RunSample",
    "drift_age_seconds",
    "ObjectState",
    "managed_states",
    "parse_timestamp",
    "states_of_drift",
    "states_of_plan",
    "write_textfile",
]

STATES: tuple[str, ...] = ("in_sync", "drifted", "missing", "unmanaged")
DURATION_BUCKETS: tuple[float, ...] = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
_STATE_OF_DRIFT = {
    "changed": "drifted",
    "added": "drifted",
    "missing": "missing",
    "unmanaged": "unmanaged",
}
_STATE_OF = {
    Action.UPDATE: "drifted",
    Action.DELETE: "drifted",
    Action.CREATE: "missing",
    Action.CONFLICT: "unmanaged",
    Action.ADOPT: "unmanaged",
}


@dataclass(frozen=True)
class RunSample:
    """One finished run as the metrics see it."""

    command: str
    result: str
    duration: float | None  # seconds; None when a timestamp is missing


@dataclass(frozen=True)
class JournalView:
    """What the journal says about one project (built by ``metrics_journal``)."""

    project: str
    runs: tuple[RunSample, ...] = ()
    last_success: float | None = None  # unix seconds
    last_result: str | None = None  # result of the newest finished run
    managed: tuple[ManagedObject, ...] = ()
    drift_first_seen: Mapping[str, float] = field(default_factory=dict)  # system -> unix s


def parse_timestamp(value: str | None) -> float | None:
    """Unix seconds of the journal's ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` timestamps."""
    if not value:
        return None
    try:
        stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return stamp.timestamp()


def drift_age_seconds(first_seen: float | None, now: float) -> float:
    """Seconds a system has been drifted: 0 when in sync (``first_seen`` is None)."""
    if first_seen is None:
        return 0.0
    return max(now - first_seen, 0.0)


ObjectState = tuple[str, str, str, str]  # (system, kind, name, state)


def states_of_plan(plan: Plan) -> list[ObjectState]:
    """The state each planned change stands for."""
    return [(c.system, c.kind, c.name, _STATE_OF[c.action]) for c in plan.changes]


def states_of_drift(report: DriftReport) -> list[ObjectState]:
    """The state each drift item stands for (``added`` is a managed object no longer
    declared, or a table left without RLS: both differ from the artifacts)."""
    return [(i.system, i.object_kind, i.name, _STATE_OF_DRIFT[i.kind]) for i in report.items]


def managed_states(
    observed: Iterable[ObjectState], managed: Iterable[ManagedObject], systems: Iterable[str]
) -> Counter[tuple[str, str, str]]:
    """Count objects by (system, kind, state): the observed differences, plus every
    object the journal says converge manages in an observed system as ``in_sync``. An
    object with a difference is counted once, under that difference's state."""
    checked = set(systems)
    counts: Counter[tuple[str, str, str]] = Counter()
    differing: set[tuple[str, str, str]] = set()
    for system, kind, name, state in observed:
        counts[(system, kind, state)] += 1
        differing.add((system, kind, name))
    for obj in managed:
        if obj.system in checked and (obj.system, obj.kind, obj.name) not in differing:
            counts[(obj.system, obj.kind, "in_sync")] += 1
    return counts


@dataclass
class _Project:
    runs: Counter[tuple[str, str]] = field(default_factory=Counter)  # (command, result)
    durations: dict[str, list[float]] = field(default_factory=dict)  # command -> seconds
    last_success: float | None = None
    managed: Counter[tuple[str, str, str]] | None = None  # None: unknown
    drift_since: dict[str, float | None] = field(default_factory=dict)  # system -> first seen
    cycles: Counter[str] = field(default_factory=Counter)


class ConvergeMetrics:
    """The metrics of one process, in a registry of their own.

    Feed it with ``update_from_journal`` (runs, durations, ownership, drift ages),
    ``observe_drift``/``observe_plan`` (object states), ``record_cycle`` (watch) and
    the ``RequestCounter`` given at construction (read live at every scrape).
    Thread-safe: the watch loop updates it while the HTTP server scrapes it.
    """

    def __init__(
        self,
        counter: RequestCounter | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.counter = counter
        self.clock = clock
        self.registry = CollectorRegistry(auto_describe=False)
        self._projects: dict[str, _Project] = {}
        self._lock = threading.Lock()
        self.registry.register(self)

    # -- feeding ------------------------------------------------------------------------

    def update_from_journal(self, view: JournalView) -> None:
        """Replace the project's journal-derived values with ``view``."""
        runs: Counter[tuple[str, str]] = Counter()
        durations: dict[str, list[float]] = {}
        for run in view.runs:
            runs[(run.command, run.result)] += 1
            if run.duration is not None:
                durations.setdefault(run.command, []).append(run.duration)
        with self._lock:
            state = self._project(view.project)
            state.runs = runs
            state.durations = durations
            state.last_success = _latest(state.last_success, view.last_success)
            systems = {m.system for m in view.managed} | set(view.drift_first_seen)
            state.drift_since = {s: view.drift_first_seen.get(s) for s in systems}
            if state.managed is None and view.last_result == "succeeded":
                state.managed = Counter(
                    (m.system, m.kind, "in_sync") for m in view.managed
                )

    def observe(
        self,
        project: str,
        observed: Iterable[ObjectState],
        managed: Iterable[ManagedObject],
        *,
        systems: Iterable[str],
    ) -> None:
        """Record object states from a fresh observation of ``systems`` (a drift report:
        ``states_of_drift``, or a plan: ``states_of_plan``)."""
        counts = managed_states(observed, managed, systems)
        with self._lock:
            self._project(project).managed = counts

    def observe_drift(self, report: DriftReport, managed: Iterable[ManagedObject]) -> None:
        self.observe(
            report.project,
            states_of_drift(report),
            managed,
            systems=[s.system for s in report.systems],
        )

    def observe_plan(self, plan: Plan, managed: Iterable[ManagedObject]) -> None:
        self.observe(
            plan.project, states_of_plan(plan), managed, systems=[s.system for s in plan.systems]
        )

    def mark_in_sync(self, project: str, managed: Iterable[ManagedObject]) -> None:
        """After a successful heal (an apply of every system): each object the journal
        now says converge manages is in sync."""
        counts = Counter((m.system, m.kind, "in_sync") for m in managed)
        with self._lock:
            self._project(project).managed = counts

    def record_success(self, project: str, at: float | None = None) -> None:
        """The project was found (or made) in sync at ``at`` (default: now)."""
        with self._lock:
            state = self._project(project)
            state.last_success = _latest(state.last_success, at or self.clock())

    def record_cycle(self, project: str, result: str) -> None:
        with self._lock:
            self._project(project).cycles[result] += 1

    # -- exposition ---------------------------------------------------------------------

    def render(self) -> bytes:
        """The Prometheus text exposition format."""
        return generate_latest(self.registry)

    def collect(self) -> Iterator[Metric]:
        """The ``Collector`` protocol: build every family from the current values."""
        now = self.clock()
        runs = CounterMetricFamily(
            "converge_reconcile_runs",
            "Finished reconcile runs recorded in the journal, by command and result.",
            labels=["project", "command", "result"],
        )
        durations = HistogramMetricFamily(
            "converge_reconcile_duration_seconds",
            "Duration of finished reconcile runs recorded in the journal.",
            labels=["project", "command"],
        )
        managed = GaugeMetricFamily(
            "converge_managed_objects",
            "Objects by state at the last observation (in_sync, drifted, missing, unmanaged).",
            labels=["project", "system", "kind", "state"],
        )
        drift = GaugeMetricFamily(
            "converge_drift_age_seconds",
            "Seconds since drift was first seen in a system; 0 when in sync.",
            labels=["project", "system"],
        )
        success = GaugeMetricFamily(
            "converge_last_success_timestamp_seconds",
            "Unix time of the last succeeded run or clean drift check.",
            labels=["project"],
        )
        rollbacks = CounterMetricFamily(
            "converge_rollbacks",
            "Rollback runs recorded in the journal, by result.",
            labels=["project", "result"],
        )
        cycles = CounterMetricFamily(
            "converge_watch_cycles",
            "Watch cycles of this process, by result (in_sync, drift, healed, failed, busy).",
            labels=["project", "result"],
        )
        with self._lock:
            for name in sorted(self._projects):
                state = self._projects[name]
                for (command, result), n in sorted(state.runs.items()):
                    runs.add_metric([name, command, result], n)
                    if command == "rollback":
                        rollbacks.add_metric([name, result], n)
                for command, values in sorted(state.durations.items()):
                    durations.add_metric(
                        [name, command], _buckets(values), sum_value=sum(values)
                    )
                for (system, kind, obj_state), n in sorted((state.managed or {}).items()):
                    managed.add_metric([name, system, kind, obj_state], n)
                for system, since in sorted(state.drift_since.items()):
                    drift.add_metric([name, system], drift_age_seconds(since, now))
                if state.last_success is not None:
                    success.add_metric([name], state.last_success)
                for result, n in sorted(state.cycles.items()):
                    cycles.add_metric([name, result], n)
        yield from (runs, durations, managed, drift, success, rollbacks, cycles)
        yield from self._vendor_families()

    def _vendor_families(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "converge_vendor_requests",
            "Vendor API requests made by this process, by vendor, method and status.",
            labels=["vendor", "method", "status"],
        )
        retries = CounterMetricFamily(
            "converge_vendor_retries",
            "Vendor API requests retried by this process (429, 5xx, dropped connections).",
            labels=["vendor"],
        )
        if self.counter is not None:
            with self.counter._lock:
                tallies = dict(self.counter.requests)
                retried = dict(self.counter.retries)
            for (vendor, method, status), n in sorted(tallies.items()):
                requests.add_metric([vendor, method, str(status)], n)
            for vendor, n in sorted(retried.items()):
                retries.add_metric([vendor], n)
        yield requests
        yield retries

    def _project(self, name: str) -> _Project:
        return self._projects.setdefault(name, _Project())


def _latest(a: float | None, b: float | None) -> float | None:
    values = [v for v in (a, b) if v is not None]
    return max(values) if values else None


def _buckets(values: Sequence[float]) -> list[tuple[str, float]]:
    """Cumulative bucket counts, ending with ``+Inf``."""
    out = [(str(bound), float(sum(1 for v in values if v <= bound))) for bound in DURATION_BUCKETS]
    out.append(("+Inf", float(len(values))))
    return out


def command_counter(state: MutableMapping[str, Any]) -> RequestCounter:
    """The one ``RequestCounter`` of a command, kept in the CLI's context object so the
    ``--metrics-file`` writer at exit sees the requests the command made."""
    counter = state.get("request_counter")
    if not isinstance(counter, RequestCounter):
        counter = RequestCounter()
        state["request_counter"] = counter
    return counter


def write_textfile(metrics: ConvergeMetrics, path: Path) -> None:
    """Write the metrics for node_exporter's textfile collector, atomically
    (``prometheus_client.write_to_textfile``: a temporary file beside ``path``, renamed
    over it), then readable by all (0644), as the collector usually runs as another user.
    """
    path = Path(path)
    try:
        write_to_textfile(str(path), metrics.registry)
        os.chmod(path, 0o644)
    except OSError as exc:
        raise ConvergeError(
            f"cannot write the metrics file {path} ({exc.strerror or type(exc).__name__})",
            hint="the folder must exist and be writable (the textfile collector's directory)",
        ) from None
