"""Metrics against the real sandbox (loopback HTTP, real PostgreSQL): after a real apply, a
watch cycle is scraped over HTTP from its /metrics server; drift made through the vendor's
API shows up by state and age and is healed; ``--metrics-file`` writes a parsable file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from converge.config.workspace import open_workspace
from converge.engine.journal import open_journal
from converge.ops.drift_ages import drift_ages
from converge.ops.metrics import ConvergeMetrics
from converge.ops.metrics_journal import refresh_from_journal
from converge.ops.metrics_server import serve_metrics
from converge.ops.watch import BackoffPolicy, CycleReport, Outcome, Watcher
from converge.ops.watch_cycle import EngineCycle
from converge.vendors.http import RequestCounter
from tests.e2e.conftest import E2E, JOURNAL_SUPABASE_REF, start_e2e
from tests.support.context import run_context

Sample = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def metrics_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2E]:
    """journal decided, rendered and applied by ``converge apply`` against its own sandbox."""
    from converge.cli.main import cli
    from converge.cli.ops_watch import watch

    added = "watch" not in cli.commands
    if added:  # until cli/main.py registers it
        cli.add_command(watch)
    world = start_e2e(tmp_path_factory.mktemp("metrics") / "ws", projects=("journal",))
    try:
        applied = world.cli("apply", "journal")
        assert applied.exit_code == 0, applied.output
        yield world
    finally:
        world.sandbox.stop()
        if added:
            cli.commands.pop("watch", None)


def samples(text: str) -> Sample:
    found: Sample = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: Sample, name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


def matching(found: Sample, name: str, **labels: str) -> dict[frozenset[tuple[str, str]], float]:
    want = set(labels.items())
    return {k[1]: v for k, v in found.items() if k[0] == name and want <= k[1]}


def watch_once(world: E2E, *, heal: bool) -> tuple[CycleReport, Sample, int]:
    """One in-process watch cycle of journal; /metrics and /healthz scraped over HTTP."""
    counter = RequestCounter()
    metrics = ConvergeMetrics(counter)
    with run_context(world.root, world.env, counter=counter) as context:
        refresh_from_journal(metrics, context.require_journal(), ["journal"])
        cycle = EngineCycle(context=context, metrics=metrics, heal=heal)
        watcher = Watcher(
            ["journal"],
            cycle,
            BackoffPolicy(interval=60),
            on_report=lambda r, _: metrics.record_cycle(r.project, r.outcome.value),
        )
        server = serve_metrics(metrics.render, lambda: True)
        try:
            [report] = watcher.run(once=True)
            body = httpx.get(f"{server.url}/metrics", timeout=10)
            health = httpx.get(f"{server.url}/healthz", timeout=10).status_code
        finally:
            server.stop()
    assert body.status_code == 200
    assert body.headers["content-type"].startswith("text/plain")
    return report, samples(body.text), health


def succeeded_applies(world: E2E) -> int:
    workspace = open_workspace(world.root)
    with open_journal(workspace.settings.state, workspace.root) as journal:
        runs = journal.last_runs("journal", 100)
    return sum(1 for r in runs if r.command == "apply" and r.result == "succeeded")


def managed_count(world: E2E) -> int:
    workspace = open_workspace(world.root)
    with open_journal(workspace.settings.state, workspace.root) as journal:
        return len(journal.managed_objects("journal"))


def auth_config(world: E2E, **patch: object) -> dict[str, object]:
    """Read (or, with ``patch``, change) journal's Supabase auth settings through the
    Management API, like a person in the dashboard."""
    url = f"{world.sandbox.url('supabase')}/v1/projects/{JOURNAL_SUPABASE_REF}/config/auth"
    token = world.sandbox.world.credentials.supabase_access_token
    headers = {"Authorization": f"Bearer {token}"}
    if patch:
        changed = httpx.patch(url, json=patch, headers=headers, timeout=10)
        assert changed.status_code == 200, changed.text
    answer = httpx.get(url, headers=headers, timeout=10)
    assert answer.status_code == 200
    body: dict[str, object] = answer.json()
    return body


def test_scraped_metrics_show_runs_objects_requests_and_last_success(
    metrics_world: E2E,
) -> None:
    import time

    started = time.time()
    report, found, health = watch_once(metrics_world, heal=False)

    assert report.outcome is Outcome.IN_SYNC, report.message
    assert health == 200
    runs = "converge_reconcile_runs_total"
    assert value(found, runs, project="journal", command="apply", result="succeeded") == (
        succeeded_applies(metrics_world)
    )
    assert succeeded_applies(metrics_world) >= 1
    managed = matching(found, "converge_managed_objects", project="journal")
    assert {dict(k)["state"] for k in managed} == {"in_sync"}
    assert sum(managed.values()) == managed_count(metrics_world) > 0
    assert {dict(k)["system"] for k in managed} == {"infisical", "vercel", "supabase"}
    requests = matching(found, "converge_vendor_requests_total")
    by_vendor = {
        vendor: sum(v for k, v in requests.items() if dict(k)["vendor"] == vendor)
        for vendor in ("infisical", "vercel", "supabase")
    }
    assert all(n > 0 for n in by_vendor.values()), by_vendor
    stamp = value(found, "converge_last_success_timestamp_seconds", project="journal")
    assert stamp is not None and started - 1 <= stamp <= time.time() + 1
    ages = matching(found, "converge_drift_age_seconds", project="journal")
    assert ages and set(ages.values()) == {0}
    assert value(found, "converge_watch_cycles_total", project="journal", result="in_sync") == 1


def test_drift_made_in_the_dashboard_is_reported_by_state_and_age_then_healed(
    metrics_world: E2E,
) -> None:
    desired_jwt_exp = auth_config(metrics_world)["jwt_exp"]
    applies_before = succeeded_applies(metrics_world)
    auth_config(metrics_world, jwt_exp=7200)

    report, found, _ = watch_once(metrics_world, heal=False)
    assert report.outcome is Outcome.DRIFT, report.message
    assert (
        value(
            found,
            "converge_managed_objects",
            project="journal",
            system="supabase",
            kind="auth",
            state="drifted",
        )
        == 1
    )
    age = value(found, "converge_drift_age_seconds", project="journal", system="supabase")
    assert age is not None and age >= 0
    workspace = open_workspace(metrics_world.root)
    with open_journal(workspace.settings.state, workspace.root) as journal:
        assert {d.system for d in drift_ages(journal, "journal")} == {"supabase"}
    assert auth_config(metrics_world)["jwt_exp"] == 7200  # reported, not applied

    report, found, _ = watch_once(metrics_world, heal=True)
    assert report.outcome is Outcome.HEALED, report.message
    assert auth_config(metrics_world)["jwt_exp"] == desired_jwt_exp
    runs = "converge_reconcile_runs_total"
    assert value(found, runs, project="journal", command="apply", result="succeeded") == (
        applies_before + 1
    )
    states = {dict(k)["state"] for k in matching(found, "converge_managed_objects")}
    assert states == {"in_sync"}
    assert value(found, "converge_drift_age_seconds", project="journal", system="supabase") == 0


def test_metrics_file_after_plan_and_after_watch_once_is_parsable(
    metrics_world: E2E, tmp_path: Path
) -> None:
    after_plan = tmp_path / "plan.prom"
    planned = metrics_world.cli("--metrics-file", str(after_plan), "plan", "journal")
    assert planned.exit_code == 0, planned.output
    found = samples(after_plan.read_text())
    runs = "converge_reconcile_runs_total"
    assert value(found, runs, project="journal", command="apply", result="succeeded") == (
        succeeded_applies(metrics_world)
    )
    assert sum(matching(found, "converge_managed_objects", state="in_sync").values()) == (
        managed_count(metrics_world)
    )
    assert value(found, "converge_last_success_timestamp_seconds", project="journal")

    after_watch = tmp_path / "watch.prom"
    watched = metrics_world.cli("watch", "journal", "--once", "--metrics-file", str(after_watch))
    assert watched.exit_code == 0, watched.output
    assert "journal: in sync" in watched.stdout
    found = samples(after_watch.read_text())
    assert value(found, "converge_watch_cycles_total", project="journal", result="in_sync") == 1
    vendors = {dict(k)["vendor"] for k in matching(found, "converge_vendor_requests_total")}
    assert vendors == {"infisical", "vercel", "supabase"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.prom", "watch.prom"]


def test_watch_once_exits_2_on_drift_and_0_once_healed(metrics_world: E2E) -> None:
    auth_config(metrics_world, jwt_exp=5400)
    reported = metrics_world.cli("watch", "journal", "--once")
    assert reported.exit_code == 2, reported.output
    assert "journal: drift: 1 changed" in reported.stdout
    healed = metrics_world.cli("watch", "journal", "--once", "--heal")
    assert healed.exit_code == 0, healed.output
    assert "journal: healed" in healed.stdout
    assert auth_config(metrics_world)["jwt_exp"] != 5400


def test_watch_once_reports_busy_and_exits_3_while_another_run_holds_the_lock(
    metrics_world: E2E,
) -> None:
    from converge.engine.locks import acquire_lock

    with acquire_lock(metrics_world.root / ".converge", "journal", command="apply"):
        busy = metrics_world.cli("watch", "journal", "--once")
    assert busy.exit_code == 3, busy.output
    assert "journal: " in busy.stdout and "lock" in busy.stdout


def test_a_failing_cycle_is_reported_without_a_traceback_and_exits_1(
    metrics_world: E2E, tmp_path: Path
) -> None:
    artifact = metrics_world.root / ".out" / "journal" / "vercel-env.json"
    original = artifact.read_bytes()
    artifact.write_bytes(original.replace(b"NEXT_PUBLIC_", b"NEXT_PUBLIK_", 1))
    try:
        failed = metrics_world.cli(
            "--metrics-file", str(tmp_path / "m.prom"), "watch", "journal", "--once"
        )
    finally:
        artifact.write_bytes(original)
    assert failed.exit_code == 1, failed.output
    assert "journal: " in failed.stderr and "Traceback" not in failed.output
    found = samples((tmp_path / "m.prom").read_text())
    assert value(found, "converge_watch_cycles_total", project="journal", result="failed") == 1
