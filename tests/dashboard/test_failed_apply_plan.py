"""An apply that fails part-way keeps what it planned, with its run, as the project's
last plan: the dashboard shows the plan that failed, not an older one."""

from __future__ import annotations

import pytest

from converge.engine.journal import open_journal
from tests.e2e.conftest import E2E

pytestmark = pytest.mark.integration

E2E_PROJECTS = ("journal",)
# Vercel refuses its first write (400: not retried): infisical is applied, vercel fails.
E2E_FAULTS = "fail_write=1,error_codes=400,vendor=vercel"


def test_a_failed_apply_keeps_the_plan_of_the_systems_it_reached(e2e: E2E) -> None:
    result = e2e.cli("apply", "journal")

    assert result.exit_code == 1, result.output
    with open_journal(".converge/state.db", e2e.root) as journal:
        [run] = journal.last_runs("journal", 5)
        kept = journal.reports.last("journal", "plan")
    assert run.result == "failed"
    assert kept is not None and (kept.command, kept.run_id) == ("apply", run.id)
    systems = [s["system"] for s in kept.body["systems"]]
    assert systems == ["infisical", "vercel"]  # supabase was never reached
    assert kept.body["counts"]["create"] > 0
