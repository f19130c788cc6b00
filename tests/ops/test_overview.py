"""The dashboard's data (``converge.ops.overview``), built from a real journal and the
example workspace: each project's status, drift with its age, pending revocations with
their due times, rollout waves and gates, the last plan and the audit chain. No web
layer and no vendor here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from converge.config.workspace import Workspace, open_workspace
from converge.engine.audit_trail import workspace_trail
from converge.engine.journal import Journal, RunRecord, open_journal
from converge.engine.journal_credentials import due_time
from converge.ops.drift_ages import SeenDrift, record_drift
from converge.ops.overview import (
    build_overview,
    build_project_page,
    format_age,
    format_value,
    project_names,
    shown_url,
)
from tests.support.workspace import copy_example_workspace

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return open_workspace(copy_example_workspace(tmp_path / "ws"))


@pytest.fixture
def journal(workspace: Workspace) -> Iterator[Journal]:
    with open_journal(workspace.settings.state, workspace.root) as opened:
        yield opened


def run(journal: Journal, project: str, result: str | None = "succeeded",
        systems: tuple[str, ...] = ("vercel",), command: str = "apply") -> RunRecord:
    begun = journal.begin_run(project, systems=list(systems), command=command, actor="alice")
    if result is None:
        return begun
    return journal.finish_run(begun, result, {"created": 2})  # type: ignore[arg-type]


def backdate(journal: Journal, done: RunRecord, moment: dt.datetime) -> None:
    """Make ``done`` a run of the past (runs are stamped with the real time)."""
    journal.db.execute("UPDATE converge_runs SET started_at = ?, finished_at = ? WHERE id = ?",
                       (stamp(moment), stamp(moment), done.id))


def statuses(workspace: Workspace, journal: Journal) -> dict[str, str]:
    overview = build_overview(workspace, journal, now=NOW)
    return {p.name: p.status.label for p in overview.projects}


# -- formatting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0 s"), (42.9, "42 s"), (60, "1 min"), (3599, "59 min"), (3600, "1 h"),
     (7500, "2 h 5 min"), (86400, "1 d"), (3 * 86400 + 4 * 3600 + 5, "3 d 4 h"), (-5, "0 s")],
)
def test_ages_read_at_a_glance(seconds: float, shown: str) -> None:
    assert format_age(seconds) == shown


def test_a_probe_url_is_shown_without_credentials_or_query() -> None:
    assert shown_url("https://bot:hunter2@status.example:8443/health?key=abc#x") == (
        "https://status.example:8443/health")


def test_plan_values_are_shown_as_text() -> None:
    assert [format_value(v) for v in ("x", "", None, 3, ["a"], {"b": 1})] == [
        "x", '""', "(none)", "3", '["a"]', '{"b": 1}']


# -- status ----------------------------------------------------------------------------------


def test_every_project_of_the_workspace_is_listed_never_applied_at_first(
    workspace: Workspace, journal: Journal
) -> None:
    overview = build_overview(workspace, journal, now=NOW)

    assert [p.name for p in overview.projects] == ["analytics", "auth-service", "journal"]
    assert {p.status.key for p in overview.projects} == {"never"}
    journal_card = overview.projects[2]
    assert journal_card.description and journal_card.owners == ("platform@acme.example",)
    assert journal_card.last_run is None and journal_card.drift_check is None
    assert overview.backend == "sqlite"


def test_status_follows_the_last_run(workspace: Workspace, journal: Journal) -> None:
    run(journal, "analytics", "succeeded")
    run(journal, "journal", "failed")
    run(journal, "auth-service", None)  # still running (this process)

    assert statuses(workspace, journal) == {
        "analytics": "in sync", "journal": "last run failed", "auth-service": "running"}

    run(journal, "journal", "interrupted")
    card = build_overview(workspace, journal, now=NOW).projects[2]
    assert (card.status.key, card.status.symbol) == ("resume", "⏸")
    assert "converge apply journal" in card.status.detail
    assert card.last_run is not None and card.last_run.result == "interrupted"


def test_a_project_only_the_journal_knows_is_listed_and_has_a_page(
    workspace: Workspace, journal: Journal
) -> None:
    run(journal, "retired-app", "succeeded")

    assert project_names(workspace, journal)[-1] == "retired-app"
    page = build_project_page(workspace, journal, "retired-app", now=NOW)
    assert page is not None and not page.project.in_workspace
    assert page.project.rollout is None
    assert build_project_page(workspace, journal, "nobody", now=NOW) is None


def test_a_project_yaml_that_does_not_load_is_named_by_location_never_by_content(
    workspace: Workspace, journal: Journal
) -> None:
    (workspace.root / "projects" / "analytics" / "project.yaml").write_text(
        "name: analytics\nowners: sk_live_not_a_place_for_this_9f3e\n"
    )

    card = build_overview(workspace, journal, now=NOW).projects[0]

    assert card.config_problem is not None
    assert "projects/analytics/project.yaml" in card.config_problem
    assert "converge validate analytics" in card.config_problem
    assert "sk_live" not in card.config_problem


# -- drift -----------------------------------------------------------------------------------


def test_drift_shows_each_field_with_its_age_until_an_apply_heals_it(
    workspace: Workspace, journal: Journal
) -> None:
    earlier = run(journal, "journal", "succeeded", systems=("infisical", "vercel", "supabase"))
    backdate(journal, earlier, NOW - dt.timedelta(hours=3))
    first = NOW - dt.timedelta(hours=2, minutes=5)
    seen = [SeenDrift("vercel", "vercel/env/NEXT_PUBLIC_API_URL@production", "value", "changed"),
            SeenDrift("vercel", "vercel/env/NEXT_PUBLIC_API_URL@production", "targets",
                      "changed")]
    record_drift(journal, "journal", systems=["vercel"], seen=seen, now=stamp(first))
    record_drift(journal, "journal", systems=["vercel"], seen=seen,
                 now=stamp(NOW - dt.timedelta(minutes=1)))
    journal.reports.record("journal", "drift", {"systems": ["vercel"], "has_drift": True,
                                                "counts": {"changed": 1}}, command="drift")

    card = build_overview(workspace, journal, now=NOW).projects[2]

    assert (card.status.key, card.status.label, card.status.detail) == (
        "drift", "drifted", "2 fields drifted")
    shown = first.strftime("%Y-%m-%d %H:%M:%S UTC")
    assert [(d.field, d.kind, d.age, d.first_seen) for d in card.drift] == [
        ("targets", "changed", "2 h 5 min", shown),
        ("value", "changed", "2 h 5 min", shown),
    ]
    assert card.drift_check is not None and card.drift_check.counts == "1 changed"

    run(journal, "journal", "succeeded", systems=("vercel",))  # after the drift was last seen
    # (now: a minute after the drift check's last sighting)
    healed = build_overview(workspace, journal, now=NOW).projects[2]
    assert all(d.maybe_healed for d in healed.drift) and healed.open_drift == ()
    assert healed.status.label == "in sync"


def test_a_run_of_other_systems_does_not_hide_a_drift(
    workspace: Workspace, journal: Journal
) -> None:
    record_drift(journal, "journal", systems=["vercel"], now=stamp(NOW - dt.timedelta(hours=1)),
                 seen=[SeenDrift("vercel", "vercel/env/X@production", "", "missing")])
    run(journal, "journal", "succeeded", systems=("supabase",))  # later, but not vercel

    card = build_overview(workspace, journal, now=NOW).projects[2]

    assert [(d.field, d.maybe_healed) for d in card.drift] == [("(object)", False)]
    assert card.status.key == "drift"


# -- revocations -----------------------------------------------------------------------------


def test_pending_revocations_show_their_due_time_and_an_overdue_one_needs_attention(
    workspace: Workspace, journal: Journal
) -> None:
    done = run(journal, "journal", "succeeded")
    for credential, due in (("cs-later", due_time(3 * 3600)), ("cs-late", stamp(NOW))):
        journal.credentials.schedule_revocation(
            done.id, project="journal", system="infisical", kind="client-secret",
            parent_id="id-1", parent_name="token-service@journal-prod",
            credential_id=credential, reason="replaced", due_at=due,
        )

    card = build_overview(workspace, journal, now=NOW + dt.timedelta(minutes=10)).projects[2]

    by_id = {r.credential: r for r in card.revocations}
    assert by_id["cs-late"].overdue and by_id["cs-late"].due_in == "overdue by 10 min"
    assert by_id["cs-late"].due_at == NOW.strftime("%Y-%m-%d %H:%M:%S UTC")
    assert not by_id["cs-later"].overdue and by_id["cs-later"].due_in.startswith("in ")
    assert by_id["cs-later"].parent == "token-service@journal-prod"
    assert card.status.key == "attention" and card.status.label == "revocation overdue"


# -- rollout -------------------------------------------------------------------------------------


def test_rollout_waves_come_from_project_yaml_until_a_rollout_reports_its_gates(
    workspace: Workspace, journal: Journal
) -> None:
    planned = build_overview(workspace, journal, now=NOW).projects[1].rollout
    assert planned is not None and planned.configured and planned.outcome is None
    assert [(w.number, w.regions, w.systems, w.status) for w in planned.waves] == [
        (1, "eu-west + non-regional systems", "all", "planned"),
        (2, "us-east", "supabase", "planned"),
    ]
    assert (planned.gate, planned.on_failure) == ("health, drift", "rollback")
    single = build_overview(workspace, journal, now=NOW).projects[2].rollout
    assert single is not None and not single.configured and len(single.waves) == 1

    journal.reports.record("auth-service", "rollout", {
        "project": "auth-service", "revision": "0123456789abcdef0123", "on_failure": "rollback",
        "outcome": "rolled_back", "message": "wave 2 failed its gate; 2 wave(s) rolled back",
        "waves": [
            {"wave": 1, "regions": ["eu-west"], "systems": "all", "status": "applied",
             "run_id": "R1", "gate": {"passed": True, "checks": [
                 {"check": "health", "passed": True, "detail": "healthy (5 checks)"}]},
             "rollback": {"status": "restored"}},
            {"wave": 2, "regions": ["us-east"], "systems": ["supabase"], "status": "applied",
             "run_id": "R2", "gate": {"passed": False, "checks": [
                 {"check": "drift", "passed": False, "detail": "1 drifted: supabase auth"}]},
             "rollback": None},
        ],
    }, command="rollout")

    done = build_overview(workspace, journal, now=NOW).projects[1].rollout
    assert done is not None and done.outcome == "rolled_back" and done.revision == "0123456789ab"
    assert [(w.number, w.gate_passed, w.rolled_back, w.systems) for w in done.waves] == [
        (1, True, True, "all"), (2, False, False, "supabase")]
    assert done.waves[1].checks[0].detail == "1 drifted: supabase auth"


def test_the_gate_names_its_checks_and_hides_a_probe_url_s_secret_parts(
    workspace: Workspace, journal: Journal
) -> None:
    path = workspace.root / "projects" / "auth-service" / "project.yaml"
    path.write_text(path.read_text().replace(
        "gate: {health: true, drift: true, soak_seconds: 0}",
        "gate: {health: false, drift: true, soak_seconds: 300, probe: "
        "{url: 'https://u:p4ss@auth.example/health?token=t0k', expect_status: 204}}"))

    rollout = build_overview(workspace, journal, now=NOW).projects[1].rollout

    assert rollout is not None
    assert rollout.gate == "soak 5 min, drift, probe https://auth.example/health → 204"


# -- the project page: runs and the last plan ------------------------------------------------


def test_the_project_page_lists_runs_newest_first_and_the_last_plan(
    workspace: Workspace, journal: Journal
) -> None:
    first = run(journal, "journal", "succeeded")
    second = run(journal, "journal", "failed", command="rollback")
    journal.reports.record("journal", "plan", {
        "format_version": 1, "project": "journal", "decision_id": "sha256:" + "ab" * 32,
        "counts": {"create": 1, "update": 1, "delete": 0, "adopt": 0, "conflict": 0},
        "systems": [{"system": "vercel", "in_sync": 3, "unverifiable": ["a value"], "changes": [
            {"action": "update", "kind": "env", "name": "K@production", "label": "K (production)",
             "reason": "", "diffs": [{"field": "value", "before": "(sensitive)",
                                      "after": "(sensitive)"},
                                     {"field": "targets", "before": ["preview"],
                                      "after": ["production"]}]},
            {"action": "create", "kind": "env", "name": "N@production", "label": "",
             "reason": "missing", "diffs": []}]}],
    }, command="apply", run_id=second.id)

    page = build_project_page(workspace, journal, "journal", now=NOW)

    assert page is not None
    assert [(r.id, r.command, r.result) for r in page.runs] == [
        (second.id, "rollback", "failed"), (first.id, "apply", "succeeded")]
    assert page.runs[0].counts == "created 2"
    plan = page.plan
    assert plan is not None and (plan.command, plan.run_id) == ("apply", second.id)
    assert plan.counts == "1 to create, 1 to update"
    assert plan.decision_id == "sha256:abababababab"
    [vercel] = plan.systems
    assert (vercel.system, vercel.in_sync, vercel.unverifiable) == ("vercel", 3, ("a value",))
    update, create = vercel.changes
    assert (update.symbol, update.label) == ("~", "K (production)")
    assert [(d.field, d.before, d.after) for d in update.diffs] == [
        ("value", "(sensitive)", "(sensitive)"), ("targets", '["preview"]', '["production"]')]
    assert (create.symbol, create.label, create.reason) == ("+", "N@production", "missing")


# -- the audit chain -------------------------------------------------------------------------


def test_the_audit_chain_is_verified_against_the_journal_and_a_cut_log_is_not(
    workspace: Workspace, journal: Journal
) -> None:
    trail = workspace_trail(workspace, journal)
    for _ in range(3):
        begun = journal.begin_run("journal", systems=["vercel"], command="apply", actor="a",
                                  audit_log=trail.key)
        trail.finish_run(begun, "succeeded", {"created": 1})

    audit = build_overview(workspace, journal, now=NOW).audit
    assert (audit.verified, audit.entries, audit.head_seq, audit.problems) == (True, 3, 3, ())

    lines = trail.path.read_bytes().splitlines(keepends=True)
    trail.path.write_bytes(b"".join(lines[:-1]))
    cut = build_overview(workspace, journal, now=NOW).audit
    assert not cut.verified and cut.problems
    assert any("#3" in problem for problem in cut.problems), cut.problems
