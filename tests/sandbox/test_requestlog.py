"""The request log: exact counts, no secrets or bodies, and its loopback control endpoint."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from converge_sandbox.middleware import SandboxMiddleware
from converge_sandbox.requestlog import (
    RequestEntry,
    RequestLog,
    fetch_request_log,
    reset_request_log,
)
from tests.sandbox.placeholders import auth, start_placeholder_sandbox

VERCEL_ENV = "/v10/projects/prj_1/env"
SECRET_VALUE = "s3cr3t-value-never-logged"


def _entry(method: str, path: str, vendor: str = "vercel") -> RequestEntry:
    return RequestEntry(0.0, vendor, method, path, 200, 1.0)


def test_counts_stay_exact_after_the_ring_wraps() -> None:
    log = RequestLog(capacity=3)
    for i in range(5):
        log.record(_entry("GET", f"/v10/projects/p{i}/env"))
    log.record(_entry("POST", "/v10/projects/p0/env"))
    log.record(_entry("GET", "/api/v4/secrets", vendor="infisical"))
    assert len(log.entries()) == 3
    assert log.count() == 7
    assert log.count(vendor="vercel", method="get", path_prefix="/v10/projects/") == 5
    assert log.count(vendor="vercel", path_prefix="/v10/projects/p0") == 2
    assert [e.method for e in log.writes()] == ["POST"]
    assert log.write_count() == 1
    log.reset()
    assert (log.count(), log.entries()) == (0, [])


def test_entries_are_appended_to_the_file_in_batches(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    log = RequestLog(path, flush_interval=60)
    log.record(_entry("GET", VERCEL_ENV))
    assert not path.exists()  # nothing written on the request path
    log.close()
    [line] = path.read_text().splitlines()
    assert json.loads(line)["path"] == VERCEL_ENV


def test_log_holds_no_token_body_or_query(tmp_path: Path) -> None:
    with start_placeholder_sandbox(tmp_path) as sandbox, httpx.Client(
        base_url=sandbox.url("vercel"), headers=auth(sandbox, "vercel")
    ) as client:
        token = sandbox.env["VERCEL_TOKEN"]
        created = client.post(VERCEL_ENV, params={"value": SECRET_VALUE},
                              json={"key": "API_KEY", "value": SECRET_VALUE})
        listed = client.get(VERCEL_ENV, params={"decrypt": SECRET_VALUE})
        served = client.get("/__sandbox/requests").text
        counted = sandbox.request_log.count(vendor="vercel", path_prefix="/v10/projects")
        writes = sandbox.request_log.writes()
    written = (tmp_path / "requests.jsonl").read_text()
    assert (created.status_code, listed.status_code) == (201, 200)
    assert counted == 2
    assert [(w.vendor, w.method, w.path, w.status) for w in writes] == [
        ("vercel", "POST", VERCEL_ENV, 201)
    ]
    for text in (served, written):
        assert VERCEL_ENV in text
        assert SECRET_VALUE not in text and token not in text and "decrypt" not in text
    assert set(json.loads(written.splitlines()[0])) == {
        "at", "vendor", "method", "path", "status", "duration_ms", "fault"
    }


def test_another_process_can_read_and_reset_the_log(tmp_path: Path) -> None:
    with start_placeholder_sandbox(tmp_path) as sandbox:
        for vendor, path in (("vercel", VERCEL_ENV), ("infisical", "/api/v4/secrets")):
            httpx.get(sandbox.url(vendor) + path, headers=auth(sandbox, vendor))
        snapshot = fetch_request_log(sandbox.url("supabase"))
        only_vercel = fetch_request_log(sandbox.url("supabase"), vendor="vercel")
        reset_request_log(sandbox.url("infisical"))
        after = fetch_request_log(sandbox.url("vercel"))
        in_process = sandbox.request_log.count()
    assert snapshot.count() == 2 and snapshot.count(vendor="infisical") == 1
    assert [e.vendor for e in only_vercel.entries] == ["vercel"]
    assert (after.count(), after.entries, in_process) == (0, (), 0)


@pytest.mark.parametrize(("client", "status"), [(("10.1.2.3", 5000), 403),
                                                 (("127.0.0.1", 5000), 200)])
def test_control_endpoint_answers_loopback_clients_only(
    client: tuple[str, int], status: int
) -> None:
    app = Starlette(routes=[Route("/", lambda request: PlainTextResponse("ok"))])
    wrapped = SandboxMiddleware(app, vendor="vercel", log=RequestLog())

    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(app=wrapped, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
            return await http.get("/__sandbox/requests")

    assert asyncio.run(fetch()).status_code == status
