"""plan, apply, drift and rollout keep their newest report in the journal for the
dashboard (``Journal.reports``): the plan as ``plan --output json`` prints it, what an
apply planned (with its run), and a drift check's counts without any value."""

from __future__ import annotations

import json

import pytest

from converge.engine.journal import open_journal
from tests.dashboard.test_browser import change_vercel_variable
from tests.e2e.conftest import E2E

pytestmark = pytest.mark.integration

E2E_PROJECTS = ("journal",)


def _last(e2e: E2E, kind: str) -> tuple[str, str | None, dict[str, object]]:
    with open_journal(".converge/state.db", e2e.root) as journal:
        report = journal.reports.last("journal", kind)
        assert report is not None, kind
        return report.command, report.run_id, dict(report.body)


def test_plan_dry_run_and_apply_keep_the_last_plan_and_drift_its_counts(e2e: E2E) -> None:
    printed = e2e.cli("plan", "journal", "--output", "json")
    assert printed.exit_code == 2, printed.output
    command, run_id, body = _last(e2e, "plan")
    assert (command, run_id) == ("plan", None)
    assert body == json.loads(printed.stdout)["plans"][0]

    assert e2e.cli("apply", "journal", "--dry-run").exit_code == 0
    assert _last(e2e, "plan")[:2] == ("apply --dry-run", None)

    applied = e2e.cli("apply", "journal")
    assert applied.exit_code == 0, applied.output
    with open_journal(".converge/state.db", e2e.root) as journal:
        [run] = journal.last_runs("journal", 1)
    command, run_id, body = _last(e2e, "plan")
    assert (command, run_id) == ("apply", run.id)
    assert body["counts"] == {"create": 12, "update": 4, "delete": 0, "adopt": 0, "conflict": 0}
    assert [s["system"] for s in body["systems"]] == ["infisical", "vercel", "supabase"]  # type: ignore[index]

    change_vercel_variable(e2e, "NEXT_PUBLIC_APP_NAME", "Hand-edited name 7d1e")
    assert e2e.cli("drift", "journal").exit_code == 2
    command, run_id, body = _last(e2e, "drift")
    assert (command, run_id) == ("drift", None)
    assert body["has_drift"] is True
    assert body["counts"] == {"changed": 1, "missing": 0, "added": 0, "unmanaged": 0}
    assert body["systems"] == ["infisical", "vercel", "supabase"]
    assert "Hand-edited name 7d1e" not in json.dumps(body)  # counts, never values


def test_a_rollout_keeps_its_waves_and_gates(e2e: E2E) -> None:
    assert e2e.cli("apply", "journal").exit_code == 0  # heal the drift above
    rolled = e2e.cli("rollout", "journal")
    assert rolled.exit_code == 0, rolled.output
    command, run_id, body = _last(e2e, "rollout")
    assert (command, run_id, body["outcome"]) == ("rollout", None, "completed")
    [wave] = body["waves"]  # type: ignore[misc]
    assert wave["status"] == "applied" and wave["gate"]["passed"] is True
    assert [c["check"] for c in wave["gate"]["checks"]] == ["health", "drift"]
