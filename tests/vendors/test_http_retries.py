"""Retries are reported through converge's own output, one line each, or not at all.

Against a faulty sandbox over loopback, ``VendorHttp`` retries every injected 503/429 and
dropped connection; with a reporter (the CLI's ``--verbose``) each retry is one line
naming vendor, method, path (no query, no token) and attempt, and without one nothing is
printed or logged: no bare ``stamina.retry_scheduled`` lines (issue 8, item 9).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from converge.vendors.http import (
    RateBudget,
    RequestCounter,
    RetryPolicy,
    VendorHttp,
    report_retries,
)
from converge_sandbox.runner import RunningSandbox
from tests.sandbox.placeholders import auth, start_placeholder_sandbox

PATH = "/v10/projects/prj_1/env"
# 502 carries no Retry-After (the sandbox sends one second with 429/503): fast retries.
FAULTS = "error_rate=0.3,error_codes=502,drop_rate=0.05,seed=3,vendor=vercel"
FAST = RetryPolicy(attempts=8, timeout=30.0, wait_initial=0.01, wait_max=0.05,
                   wait_jitter=0.01)
LINE = re.compile(
    rf"retry vercel GET {PATH} attempt [2-8]/8 after (502|RemoteProtocolError) "
    r"\(waiting \d+\.\d s\)"
)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[RunningSandbox]:
    with start_placeholder_sandbox(tmp_path, faults=FAULTS) as running:
        yield running


@pytest.fixture(autouse=True)
def _silent_afterwards() -> Iterator[None]:
    yield
    report_retries(None)


def read_many(sandbox: RunningSandbox, count: int) -> int:
    """``count`` GETs (each retried until it succeeds); the faults the sandbox injected."""
    http = VendorHttp(
        vendor="vercel", base_url=sandbox.url("vercel"), headers=auth(sandbox, "vercel"),
        credential_variable="VERCEL_TOKEN", counter=RequestCounter(), budget=RateBudget(0),
        policy=FAST, cache_reads=False,
    )
    try:
        for _ in range(count):
            response = http.request("GET", PATH, params={"teamId": "team_query_value"})
            assert response.status_code == 200
    finally:
        http.close()
    return sum(1 for e in sandbox.request_log.entries("vercel") if e.fault)


def test_each_retry_is_one_line_naming_vendor_method_path_and_attempt(
    sandbox: RunningSandbox,
) -> None:
    lines: list[str] = []
    report_retries(lines.append)

    faults = read_many(sandbox, 30)

    assert faults > 5
    assert len(lines) == faults
    assert all(LINE.fullmatch(line) for line in lines), lines
    token = auth(sandbox, "vercel")["Authorization"].split()[1]
    assert not [line for line in lines if "team_query_value" in line or token in line]


def test_without_a_reporter_retries_print_and_log_nothing(
    sandbox: RunningSandbox, capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    report_retries(None)

    faults = read_many(sandbox, 30)

    out, err = capfd.readouterr()
    assert faults > 5
    assert "stamina" not in out + err and "retry" not in out + err
    assert not [r for r in caplog.records if r.name.startswith("stamina")]
