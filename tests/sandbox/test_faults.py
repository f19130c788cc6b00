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
        "lost_response_rate=0.05,lost_response_after=2/9,seed=7,fail_write=3/5,"
        "vendor=vercel/supabase"
    )
    assert spec == FaultSpec(
        latency=0.15, jitter=0.02, error_rate=0.2, error_codes=(429, 503), drop_rate=0.02,
        seed=7, fail_writes=frozenset({3, 5}), lost_response_rate=0.05,
        lost_writes=frozenset({2, 9}), vendors=frozenset({"vercel", "supabase"}),
    )
    assert parse_faults("lost_response_rate=0.1").active


@pytest.mark.parametrize("text", ["error_rate=2", "latency=fast", "colour=red", "error_codes=200",
                                  "lost_response_rate=1.5", "lost_response_after=0",
                                  "fail_write=x"])
def test_parse_faults_rejects_a_bad_item_and_names_it(text: str) -> None:
    with pytest.raises(SandboxError) as caught:
        parse_faults(text)
    assert text in caught.value.message


def test_same_seed_and_sequence_give_the_same_decisions() -> None:
    spec = parse_faults("jitter=10ms,error_rate=0.3,error_codes=429/500/503,drop_rate=0.1,seed=7")
    methods = ["GET", "POST", "GET", "PATCH", "DELETE"] * 40
    one, two = FaultInjector(spec, "vercel"), FaultInjector(spec, "vercel")
    first = [one.decide(m) for m in methods]
    assert first == [two.decide(m) for m in methods]
    other = FaultInjector(parse_faults("jitter=10ms,error_rate=0.3,drop_rate=0.1,seed=8"),
                          "vercel")
    assert [other.decide(m) for m in methods] != first
    assert {d.kind for d in first} == {FaultKind.NONE, FaultKind.ERROR, FaultKind.DROP}


def test_each_vendor_draws_its_own_stream_from_one_seed() -> None:
    spec = parse_faults("error_rate=0.2,drop_rate=0.05,lost_response_rate=0.1,seed=7")
    methods = ["GET", "POST", "PATCH", "DELETE"] * 50

    def faulted(vendor: str) -> list[int]:
        injector = FaultInjector(spec, vendor)
        return [i for i, m in enumerate(methods) if injector.decide(m).kind is not FaultKind.NONE]

    streams = {vendor: faulted(vendor) for vendor in ("infisical", "vercel", "supabase")}
    assert len({tuple(s) for s in streams.values()}) == 3  # different request numbers fail
    assert all(streams[v] == faulted(v) for v in streams)  # each one replays
    assert all(len(s) > 20 for s in streams.values())


def test_lost_responses_only_hit_writes() -> None:
    injector = FaultInjector(parse_faults("lost_response_rate=1"), "vercel")
    kinds = [injector.decide(m).kind for m in ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]]
    assert kinds == [FaultKind.NONE] * 2 + [FaultKind.LOST_RESPONSE] * 4
    nth = FaultInjector(parse_faults("lost_response_after=2"), "vercel")
    kinds = [nth.decide(m).kind for m in ["POST", "GET", "PATCH", "DELETE"]]
    assert kinds == [FaultKind.NONE, FaultKind.NONE, FaultKind.LOST_RESPONSE, FaultKind.NONE]


def test_fail_write_fails_only_the_nth_write() -> None:
    injector = FaultInjector(parse_faults("fail_write=3,error_codes=500"), "vercel")
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


def _vendor_statuses(tmp_path: Path, faults: str, count: int) -> dict[str, list[int]]:
    """The statuses of ``count`` GETs to each vendor (0 for a dropped connection)."""
    paths = {"infisical": "/api/v4/secrets", "vercel": VERCEL_ENV,
             "supabase": "/v1/projects/abcdefghijklmnopqrst/config/auth"}
    statuses: dict[str, list[int]] = {}
    with start_placeholder_sandbox(tmp_path, faults=faults) as sandbox:
        for vendor, path in paths.items():
            with httpx.Client(base_url=sandbox.url(vendor), headers=auth(sandbox, vendor)) as c:
                statuses[vendor] = [c.get(path).status_code for _ in range(count)]
    return statuses


def test_one_seed_fails_each_vendor_at_its_own_request_numbers_over_http(
    tmp_path: Path,
) -> None:
    faults = "error_rate=0.3,error_codes=503,seed=7"
    first = _vendor_statuses(tmp_path / "a", faults, 30)
    replay = _vendor_statuses(tmp_path / "b", faults, 30)
    assert first == replay
    failing = {vendor: tuple(i for i, s in enumerate(codes) if s == 503)
               for vendor, codes in first.items()}
    assert len(set(failing.values())) == 3
    assert all(failing.values())


def test_a_lost_response_commits_the_write_and_drops_the_connection(tmp_path: Path) -> None:
    faults = "lost_response_after=1,vendor=vercel"
    with start_placeholder_sandbox(tmp_path, faults=faults) as sandbox, httpx.Client(
        base_url=sandbox.url("vercel"), headers=auth(sandbox, "vercel")
    ) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.post(VERCEL_ENV, json={"key": "LOST", "value": "v"})
        listed = client.get(VERCEL_ENV)
        again = client.post(VERCEL_ENV, json={"key": "SECOND", "value": "v"})
        entries = sandbox.request_log.entries("vercel")
    assert [item["key"] for item in listed.json()["items"]] == ["LOST"]  # it was committed
    assert again.status_code == 201  # only the first write's answer is lost
    assert [(e.method, e.status, e.fault) for e in entries] == [
        ("POST", 201, "lost_response"), ("GET", 200, ""), ("POST", 201, ""),
    ]


def _lost_writes(tmp_path: Path, faults: str) -> list[int]:
    """Which of 30 POSTs lost their answer (their keys were all committed)."""
    lost = []
    with start_placeholder_sandbox(tmp_path, faults=faults) as sandbox, httpx.Client(
        base_url=sandbox.url("vercel"), headers=auth(sandbox, "vercel")
    ) as client:
        for i in range(30):
            try:
                client.post(VERCEL_ENV, json={"key": f"K{i}", "value": "v"})
            except httpx.TransportError:
                lost.append(i)
        stored = len(client.get(VERCEL_ENV).json()["items"])
    assert stored == 30
    return lost


def test_lost_responses_replay_identically_for_the_same_seed(tmp_path: Path) -> None:
    faults = "lost_response_rate=0.3,seed=11"
    first = _lost_writes(tmp_path / "a", faults)
    assert first == _lost_writes(tmp_path / "b", faults)
    assert 0 < len(first) < 30
    assert first != _lost_writes(tmp_path / "c", "lost_response_rate=0.3,seed=12")
