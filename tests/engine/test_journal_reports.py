"""The journal's last report per project and kind (schema version 4): what the dashboard
shows of the last plan, rollout and drift check. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from converge.engine.journal import Journal, open_journal
from converge.engine.journal_reports import MAX_BODY
from converge.errors import JournalError


def test_a_report_is_kept_per_project_and_kind_and_replaced_by_the_next(
    journal: Journal,
) -> None:
    run = journal.begin_run("journal", systems=["vercel"], command="apply", actor="t")
    assert journal.reports.last("journal", "plan") is None

    first = journal.reports.record("journal", "plan", {"counts": {"create": 2}},
                                   command="plan")
    journal.reports.record("analytics", "plan", {"counts": {"create": 9}}, command="plan")
    journal.reports.record("journal", "drift", {"has_drift": False}, command="drift")
    second = journal.reports.record("journal", "plan", {"counts": {"update": 1}, "x": [1, None]},
                                    command="apply", run_id=run.id)

    kept = journal.reports.last("journal", "plan")
    assert kept == second
    assert kept is not None and kept.recorded_at >= first.recorded_at
    assert (kept.command, kept.run_id, dict(kept.body)) == (
        "apply", run.id, {"counts": {"update": 1}, "x": [1, None]})
    other = journal.reports.last("analytics", "plan")
    assert other is not None and other.body["counts"] == {"create": 9}
    drift = journal.reports.last("journal", "drift")
    assert drift is not None and drift.body == {"has_drift": False}
    assert journal.reports.last("journal", "rollout") is None


def test_a_report_survives_reopening_the_journal(state: str, workspace_root: Path) -> None:
    with open_journal(state, workspace_root) as journal:
        journal.reports.record("journal", "rollout", {"outcome": "completed"}, command="rollout")
    with open_journal(state, workspace_root) as again:
        kept = again.reports.last("journal", "rollout")
    assert kept is not None and kept.body == {"outcome": "completed"}


@pytest.mark.parametrize(
    ("kind", "body", "command", "message"),
    [
        ("secrets", {}, "plan", "unknown report kind"),
        ("plan", {"x": object()}, "plan", "is not JSON"),
        ("plan", {}, "", "command is empty"),
        ("plan", {}, "plan\nrm -rf", "not a short single-line string"),
        ("plan", {"x": "y" * MAX_BODY}, "plan", "more than the"),
    ],
)
def test_the_journal_refuses_what_is_not_a_report(
    journal: Journal, kind: str, body: dict[str, object], command: str, message: str
) -> None:
    with pytest.raises(JournalError, match=message):
        journal.reports.record("journal", kind, body, command=command)
    assert journal.reports.last("journal", "plan") is None
