"""``plan`` and ``apply --dry-run`` never write: neither on a fresh sandbox, where there is
everything to do, nor after an apply. Counted by the sandbox's own request log."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import E2E

pytestmark = pytest.mark.integration

OUTPUTS: dict[tuple[str, ...], str] = {}


def writes_of(e2e: E2E, *args: str, expect_exit: int) -> list[tuple[str, str, str]]:
    """Run converge and return the write requests the sandbox saw meanwhile (its output
    is kept in ``OUTPUTS``)."""
    log = e2e.sandbox.request_log
    log.reset()
    result = e2e.cli(*args)
    assert result.exit_code == expect_exit, result.output
    OUTPUTS[args] = result.stdout
    assert log.count() > 0, "the command made no request at all"
    assert log.write_count() == len(log.writes())
    return [(w.vendor, w.method, w.path) for w in log.writes()]


def test_plan_and_dry_run_make_no_write_on_a_fresh_sandbox_and_after_apply(e2e: E2E) -> None:
    fresh_plan = writes_of(e2e, "plan", "journal", expect_exit=2)
    fresh_dry_run = writes_of(e2e, "apply", "journal", "--dry-run", expect_exit=0)
    fresh_dry_run_lines = OUTPUTS[("apply", "journal", "--dry-run")].splitlines()
    applied = writes_of(e2e, "apply", "journal", expect_exit=0)
    after_plan = writes_of(e2e, "plan", "journal", expect_exit=0)
    after_dry_run = writes_of(e2e, "apply", "journal", "--dry-run", expect_exit=0)

    assert fresh_plan == []
    assert fresh_dry_run == []
    assert "  Would apply ProjectRole: runtime (prod)" in fresh_dry_run_lines
    assert "  🔍 Would apply: 6 resources" in fresh_dry_run_lines
    assert len(applied) > 0  # the fresh sandbox really had something to do
    assert after_plan == []
    assert after_dry_run == []

