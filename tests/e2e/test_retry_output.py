"""converge's own output for retries (issue 8, item 9): against a faulty sandbox, a run
prints no ``stamina`` line by default, and with ``-v`` exactly one line per retry, naming
vendor, method, path and attempt."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import E2E

pytestmark = pytest.mark.integration

# 502 carries no Retry-After, so retries are quick; drops and lost responses too.
E2E_FAULTS = "error_rate=0.15,error_codes=502,drop_rate=0.02,lost_response_rate=0.05,seed=7"
FAST = {"CONVERGE_RETRY_FAST": "1"}
RETRY_LINE = re.compile(
    r"retry (infisical|vercel|supabase) (GET|POST|PUT|PATCH|DELETE) /\S+ attempt \d+/\d+ "
    r"after \S+ \(waiting \d+\.\d s\)"
)


def injected(e2e: E2E) -> int:
    return sum(1 for e in e2e.sandbox.request_log.entries() if e.fault)


def test_faulted_runs_print_no_retry_lines_by_default(e2e: E2E) -> None:
    e2e.sandbox.request_log.reset()
    results = [e2e.converge("plan", "journal", env=FAST) for _ in range(3)]

    assert all(r.returncode == 2 for r in results), [r.stderr for r in results]
    assert injected(e2e) > 0
    output = "".join(r.stdout + r.stderr for r in results)
    assert "stamina" not in output
    assert not RETRY_LINE.search(output)


def test_verbose_prints_one_line_per_retry(e2e: E2E) -> None:
    e2e.sandbox.request_log.reset()
    result = e2e.converge("-v", "apply", "journal", env=FAST)

    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("retry ")]
    assert len(lines) == injected(e2e) > 0
    assert all(RETRY_LINE.fullmatch(line) for line in lines), lines
    assert "stamina" not in result.stdout + result.stderr
    assert "?" not in "".join(lines)  # no query strings
