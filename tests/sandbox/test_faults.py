"""Fault injection: parsing, seeded replay, drops, failed writes, vendor error shapes."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from converge.errors import SandboxError
from converge_sandbox.faults import FaultInjector, FaultKind, FaultSpec, parse_faults
from tests.sandbox.placeholders import auth, start_placeholder_sandbox

VERCEL_ENV = "/v10/projects/prj_1/env"


def test_parse_faults_reads_every_documented_setting() -> None:
    spec = parse_faults(
        "latency=150ms,jitter=20ms,error_rate=0.2,error_codes=429/503,drop_rate=0.02,"
        "seed=7,fail_write=3/5,vendor=vercel/supabase"
    )
    assert spec == FaultSpec(
        latency=0.15, jitter=0.02, error_rate=0.2, error_codes=(429, 503), drop_rate=0.02,
        seed=7, fail_writes=frozenset({3, 5}), vendors=frozenset({"vercel", "supabase"}),
    )


@pytest.mark.parametrize("text", ["error_rate=2", "latency=fast", "colour=red", "error_codes=200"])
def test_parse_faults_rejects_a_bad_item_and_names_it(text: str) -> None:
    with pytest.raises(SandboxError) as caught:
        parse_faults(text)
    assert text in caught.value.message


def test_same_seed_and_sequence_give_the_same_decisions() -> None:
    spec = parse_faults("jitter=10ms,error_rate=0.3,error_codes=429/500/503,drop_rate=0.1,seed=7")
    methods = ["GET", "POST", "GET", "PATCH", "DELETE"] * 40
    one, two = FaultInjector(spec), FaultInjector(spec)
    first = [one.decide(m) for m in methods]
    assert first == [two.decide(m) for m in methods]
    other = FaultInjector(parse_faults("jitter=10ms,error_rate=0.3,drop_rate=0.1,seed=8"))
    assert [other.decide(m) for m in methods] != first
    assert {d.kind for d in first} == {FaultKind.NONE, FaultKind.ERROR, FaultKind.DROP}


def test_fail_write_fails_only_the_nth_write() -> None:
    injector = FaultInjector(parse_faults("fail_write=3,error_codes=500"))
    kinds = [injector.decide(m) for m in ["GET", "POST", "GET", "PATCH", "GET", "DELETE", "POST"]]
    assert [(d.kind, d.status) for d in kinds] == [(FaultKind.NONE, 0)] * 5 + [
        (FaultKind.ERROR, 500), (FaultKind.NONE, 0)
    ]


def _statuses(tmp_path: Path, faults: str, count: int) -> list[int]:
    with start_placeholder_sandbox(tmp_path, faults=faults) as sandbox, httpx.Client(
        base_url=sandbox.url("vercel"), headers=auth(sandbox, "vercel")
    ) as client:
        statuses = []
        for i in range(count):
            if i % 3 == 2:
                response = client.post(VERCEL_ENV, json={"key": f"K{i}", "value": "v"})
            else:
                response = client.get(VERCEL_ENV)
            statuses.append(response.status_code)
        return statuses


def test_faults_replay_identically_over_http_for_the_same_seed(tmp_path: Path) -> None:
    faults = "error_rate=0.3,error_codes=429/503,seed=7"
    first = _statuses(tmp_path / "a", faults, 40)
    second = _statuses(tmp_path / "b", faults, 40)
    assert first == second
    assert {200, 201, 429, 503} <= set(first)


def test_dropped_connection_closes_without_a_response(tmp_path: Path) -> None:
    with start_placeholder_sandbox(tmp_path, faults="drop_rate=1,vendor=vercel") as sandbox:
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(sandbox.url("vercel") + VERCEL_ENV, headers=auth(sandbox, "vercel"))
        other = httpx.get(sandbox.url("infisical") + "/api/v4/secrets",
                          headers=auth(sandbox, "infisical"))
        assert other.status_code == 200
        [dropped] = sandbox.request_log.entries("vercel")
        assert (dropped.status, dropped.fault) == (0, "drop")


def test_injected_errors_use_each_vendors_error_body(tmp_path: Path) -> None:
    paths = {"infisical": "/api/v4/secrets", "vercel": VERCEL_ENV,
             "supabase": "/v1/projects/abcdefghijklmnopqrst/config/auth"}
    with start_placeholder_sandbox(tmp_path, faults="error_rate=1,error_codes=503") as sandbox:
        bodies = {
            vendor: httpx.get(sandbox.url(vendor) + path, headers=auth(sandbox, vendor))
            for vendor, path in paths.items()
        }
    assert {r.status_code for r in bodies.values()} == {503}
    assert all(r.headers["retry-after"] == "1" for r in bodies.values())
    infisical = bodies["infisical"].json()
    assert infisical["statusCode"] == 503 and infisical["reqId"].startswith("req-")
    assert set(infisical) == {"reqId", "statusCode", "message", "error"}
    assert bodies["vercel"].json()["error"]["code"] == "service_unavailable"
    assert set(bodies["supabase"].json()) == {"message"}


def test_latency_delays_each_response(tmp_path: Path) -> None:
    with start_placeholder_sandbox(tmp_path, faults="latency=120ms") as sandbox:
        started = time.perf_counter()
        response = httpx.get(sandbox.url("vercel") + VERCEL_ENV, headers=auth(sandbox, "vercel"))
        elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert elapsed >= 0.12
