"""ConvergeMetrics: families built from a real journal (SQLite), plans, drift reports and a
RequestCounter; the textfile written atomically; one registry per instance."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from converge.changes import Action, Change
from converge.engine.journal import ChangeRef, Journal, open_journal
from converge.engine.plan import Plan, SystemPlan
from converge.errors import ConvergeError
from converge.ops.drift import DriftItem, DriftReport, SystemDrift
from converge.ops.drift_ages import SeenDrift, record_drift
from converge.ops.metrics import (
    ConvergeMetrics,
    command_counter,
    drift_age_seconds,
    write_textfile,
)
from converge.ops.metrics_journal import journal_projects, read_journal_view, refresh_from_journal
from converge.vendors.http import RequestCounter

Sample = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Sample:
    """Every sample of an exposition, keyed by name and labels."""
    found: Sample = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: Sample, name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


@pytest.fixture
def metrics_journal(tmp_path: Path) -> Iterator[Journal]:
    journal = open_journal(".converge/state.db", tmp_path)
    try:
        yield journal
    finally:
        journal.close()


def _run(journal: Journal, project: str, command: str, result: str, *, objects: int = 0) -> None:
    run = journal.begin_run(project, systems=["vercel"], command=command, actor="test")
    for n in range(objects):
        op = journal.record_intent(
            run, ChangeRef("vercel", "env", f"KEY_{n}", "create", f"vercel/env/KEY_{n}")
        )
        journal.record_done(op, vendor_id=f"env_{n}", marker="1")
    journal.finish_run(run, result)  # type: ignore[arg-type]


def test_runs_are_counted_by_command_and_result_from_the_journal(
    metrics_journal: Journal,
) -> None:
    _run(metrics_journal, "journal", "apply", "succeeded", objects=2)
    _run(metrics_journal, "journal", "apply", "failed")
    _run(metrics_journal, "journal", "apply", "succeeded")
    _run(metrics_journal, "journal", "rollback", "succeeded")
    _run(metrics_journal, "analytics", "apply", "failed")
    metrics = ConvergeMetrics()
    refresh_from_journal(metrics, metrics_journal, journal_projects(metrics_journal))
    found = samples(metrics.render().decode())

    runs = "converge_reconcile_runs_total"
    assert value(found, runs, project="journal", command="apply", result="succeeded") == 2
    assert value(found, runs, project="journal", command="apply", result="failed") == 1
    assert value(found, runs, project="analytics", command="apply", result="failed") == 1
    assert value(found, "converge_rollbacks_total", project="journal", result="succeeded") == 1
    count = "converge_reconcile_duration_seconds_count"
    assert value(found, count, project="journal", command="apply") == 3
    inf = value(
        found,
        "converge_reconcile_duration_seconds_bucket",
        project="journal",
        command="apply",
        le="+Inf",
    )
    assert inf == 3


def test_last_success_is_the_finish_time_of_the_newest_succeeded_run(
    metrics_journal: Journal,
) -> None:
    before = time.time()
    _run(metrics_journal, "journal", "apply", "succeeded")
    after = time.time()
    _run(metrics_journal, "journal", "apply", "failed")
    _run(metrics_journal, "analytics", "apply", "failed")
    metrics = ConvergeMetrics()
    refresh_from_journal(metrics, metrics_journal, ["journal", "analytics"])
    found = samples(metrics.render().decode())
    stamp = value(found, "converge_last_success_timestamp_seconds", project="journal")
    assert stamp is not None and before - 1 <= stamp <= after + 1
    assert value(found, "converge_last_success_timestamp_seconds", project="analytics") is None


def test_without_a_plan_managed_objects_are_in_sync_only_after_a_succeeded_run(
    metrics_journal: Journal,
) -> None:
    _run(metrics_journal, "journal", "apply", "succeeded", objects=3)
    _run(metrics_journal, "analytics", "apply", "succeeded", objects=2)
    _run(metrics_journal, "analytics", "apply", "failed")
    metrics = ConvergeMetrics()
    refresh_from_journal(metrics, metrics_journal, ["journal", "analytics"])
    found = samples(metrics.render().decode())
    managed = "converge_managed_objects"
    assert (
        value(found, managed, project="journal", system="vercel", kind="env", state="in_sync")
        == 3
    )
    assert not [k for k in found if k[0] == managed and ("project", "analytics") in k[1]]


def _change(name: str, action: Action, kind: str = "env") -> Change:
    return Change(system="vercel", kind=kind, name=name, action=action, stage=0)


def test_a_plan_sorts_objects_into_in_sync_drifted_missing_and_unmanaged(
    metrics_journal: Journal,
) -> None:
    _run(metrics_journal, "journal", "apply", "succeeded", objects=4)  # KEY_0..KEY_3
    plan = Plan(
        "journal",
        "sha256:d",
        "sha256:m",
        (
            SystemPlan(
                "vercel",
                (
                    _change("KEY_0", Action.UPDATE),
                    _change("KEY_1", Action.DELETE),
                    _change("NEW", Action.CREATE),
                    _change("HAND_MADE", Action.CONFLICT),
                ),
            ),
        ),
    )
    metrics = ConvergeMetrics()
    metrics.observe_plan(plan, metrics_journal.managed_objects("journal"))
    found = samples(metrics.render().decode())
    states = {
        state: value(
            found,
            "converge_managed_objects",
            project="journal",
            system="vercel",
            kind="env",
            state=state,
        )
        for state in ("in_sync", "drifted", "missing", "unmanaged")
    }
    assert states == {"in_sync": 2, "drifted": 2, "missing": 1, "unmanaged": 1}


def test_drift_age_comes_from_the_first_seen_times_recorded_beside_the_journal(
    metrics_journal: Journal,
) -> None:
    _run(metrics_journal, "journal", "apply", "succeeded", objects=1)
    record_drift(
        metrics_journal,
        "journal",
        systems=["vercel"],
        seen=[SeenDrift("vercel", "vercel/env/KEY_0", "value", "changed")],
        now="2026-01-01T00:00:00.000000Z",
    )
    clock_now = 1767225600.0 + 90  # 2026-01-01T00:01:30Z
    metrics = ConvergeMetrics(clock=lambda: clock_now)
    view = read_journal_view(metrics_journal, "journal")
    metrics.update_from_journal(view)
    found = samples(metrics.render().decode())
    assert value(found, "converge_drift_age_seconds", project="journal", system="vercel") == 90

    record_drift(metrics_journal, "journal", systems=["vercel"], seen=[])  # healed
    metrics.update_from_journal(read_journal_view(metrics_journal, "journal"))
    found = samples(metrics.render().decode())
    assert value(found, "converge_drift_age_seconds", project="journal", system="vercel") == 0


def test_drift_age_is_zero_in_sync_and_never_negative() -> None:
    assert drift_age_seconds(None, 100.0) == 0
    assert drift_age_seconds(50.0, 100.0) == 50
    assert drift_age_seconds(150.0, 100.0) == 0


def test_a_drift_report_counts_objects_by_state(metrics_journal: Journal) -> None:
    _run(metrics_journal, "journal", "apply", "succeeded", objects=3)
    report = DriftReport(
        project="journal",
        decision_id="sha256:d",
        systems=(
            SystemDrift(
                "vercel",
                (
                    DriftItem("vercel", "env", "KEY_0", "KEY_0", "changed", ()),
                    DriftItem("vercel", "env", "KEY_9", "KEY_9", "missing", ()),
                ),
            ),
        ),
    )
    metrics = ConvergeMetrics()
    metrics.observe_drift(report, metrics_journal.managed_objects("journal"))
    found = samples(metrics.render().decode())
    labels = {"project": "journal", "system": "vercel", "kind": "env"}
    assert value(found, "converge_managed_objects", **labels, state="in_sync") == 2
    assert value(found, "converge_managed_objects", **labels, state="drifted") == 1
    assert value(found, "converge_managed_objects", **labels, state="missing") == 1


def test_vendor_requests_and_retries_are_read_live_from_the_request_counter() -> None:
    counter = RequestCounter()
    metrics = ConvergeMetrics(counter)
    counter.record("vercel", "GET", 200)
    counter.record("vercel", "GET", 200)
    counter.record("infisical", "POST", 429)
    counter.record_retry("infisical")
    found = samples(metrics.render().decode())
    requests = "converge_vendor_requests_total"
    assert value(found, requests, vendor="vercel", method="GET", status="200") == 2
    assert value(found, requests, vendor="infisical", method="POST", status="429") == 1
    assert value(found, "converge_vendor_retries_total", vendor="infisical") == 1
    counter.record("vercel", "GET", 200)
    found = samples(metrics.render().decode())
    assert value(found, requests, vendor="vercel", method="GET", status="200") == 3


def test_each_instance_has_its_own_registry() -> None:
    first, second = ConvergeMetrics(), ConvergeMetrics()
    first.record_cycle("journal", "in_sync")
    assert value(
        samples(first.render().decode()),
        "converge_watch_cycles_total",
        project="journal",
        result="in_sync",
    ) == 1
    assert "converge_watch_cycles_total{" not in second.render().decode()


def test_command_counter_is_shared_through_the_context_state() -> None:
    state: dict[str, object] = {}
    assert command_counter(state) is command_counter(state)


def test_textfile_is_parsable_replaces_the_old_file_and_leaves_no_temporary(
    tmp_path: Path,
) -> None:
    (tmp_path / "textfile").mkdir()
    target = tmp_path / "textfile" / "converge.prom"
    metrics = ConvergeMetrics()
    metrics.record_cycle("journal", "drift")
    write_textfile(metrics, target)
    metrics.record_cycle("journal", "drift")
    write_textfile(metrics, target)
    found = samples(target.read_text())
    assert value(found, "converge_watch_cycles_total", project="journal", result="drift") == 2
    assert [p.name for p in target.parent.iterdir()] == ["converge.prom"]


def test_a_textfile_that_cannot_be_written_is_one_converge_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(ConvergeError, match="cannot write the metrics file"):
        write_textfile(ConvergeMetrics(), blocker / "converge.prom")
    with pytest.raises(ConvergeError, match="No such file or directory"):
        write_textfile(ConvergeMetrics(), tmp_path / "missing" / "converge.prom")
    assert not (tmp_path / "missing").exists()
