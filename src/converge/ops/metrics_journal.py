"""Read what the metrics need from the run journal: finished runs, ownership, last
success, and the drift ages ``ops.drift`` records beside the journal.

Why one query per project and not ``Journal.last_runs``: the run counters must cover the
whole history (a counter that stopped at a page size would lie), and only four short
columns of each run are needed. Runs still marked ``running`` are left out: they are
counted once they finish (or once the next run records them as interrupted).
"""

from __future__ import annotations

from collections.abc import Iterable

from converge.engine.journal import Journal
from converge.ops.drift_ages import drift_ages
from converge.ops.metrics import ConvergeMetrics, JournalView, RunSample, parse_timestamp


def read_journal_view(journal: Journal, project: str) -> JournalView:
    """The journal's runs and managed objects of ``project`` (no secret is read)."""
    rows = journal.db.execute(
        "SELECT command, result, started_at, finished_at FROM converge_runs "
        "WHERE project = ? AND result <> 'running' ORDER BY id",
        (project,),
    )
    runs: list[RunSample] = []
    last_success: float | None = None
    last_result: str | None = None
    for command, result, started_at, finished_at in rows:
        started, finished = parse_timestamp(started_at), parse_timestamp(finished_at)
        duration = finished - started if started is not None and finished is not None else None
        runs.append(RunSample(str(command), str(result), duration))
        last_result = str(result)
        if result == "succeeded" and finished is not None:
            last_success = max(last_success or finished, finished)
    first_seen: dict[str, float] = {}
    for drift in drift_ages(journal, project):
        stamp = parse_timestamp(drift.first_seen)
        if stamp is not None:
            first_seen[drift.system] = min(first_seen.get(drift.system, stamp), stamp)
    return JournalView(
        project=project,
        runs=tuple(runs),
        last_success=last_success,
        last_result=last_result,
        managed=tuple(journal.managed_objects(project)),
        drift_first_seen=first_seen,
    )


def journal_projects(journal: Journal) -> list[str]:
    """Every project the journal has a run or a managed object of."""
    rows = journal.db.execute(
        "SELECT project FROM converge_runs UNION SELECT project FROM converge_managed_objects",
        (),
    )
    return sorted({str(row[0]) for row in rows})


def refresh_from_journal(
    metrics: ConvergeMetrics, journal: Journal, projects: Iterable[str]
) -> None:
    """Load every named project's journal view into ``metrics``."""
    for project in projects:
        metrics.update_from_journal(read_journal_view(journal, project))
