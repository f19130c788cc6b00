"""A ``converge apply journal`` SIGKILLed half-way is shown by ``status`` with the command
that resumes, and running ``apply`` again converges without duplicating anything.

The sandbox adds latency to every request so the kill lands while the run is in flight;
the test watches the sandbox's request log and kills right after the Nth write: after
the first identity is created but before its Universal Auth is attached (N=3), and after
a client secret was minted but before Vercel received it (N=9)."""

from __future__ import annotations

import collections
import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import CONVERGE, E2E, base_env, start_e2e

pytestmark = pytest.mark.integration

LATENCY = "latency=60ms"
IDENTITIES = ("token-service@journal-prod", "ci@github-prod")


@pytest.fixture
def slow(tmp_path: Path) -> Iterator[E2E]:
    harness = start_e2e(tmp_path / "ws", projects=("journal",), faults=LATENCY)
    try:
        yield harness
    finally:
        harness.sandbox.stop()


def kill_apply_after_writes(e2e: E2E, writes: int) -> None:
    log = e2e.sandbox.request_log
    log.reset()
    proc = subprocess.Popen(
        [str(CONVERGE), "--workspace", str(e2e.root), "apply", "journal"],
        env=base_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while log.write_count() < writes:
            assert proc.poll() is None, f"apply finished before write {writes}"
            assert time.monotonic() < deadline, "apply made too few writes"
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL


def assert_nothing_duplicated(e2e: E2E) -> None:
    project_id = e2e.infisical_project_id("journal")
    identities = collections.Counter(d["name"] for d in e2e.infisical_docs("identity"))
    for name in IDENTITIES:
        assert identities[name] == 1, identities
    roles = e2e.infisical_docs("role", project_id + "/")
    role_slugs = collections.Counter(d["slug"] for d in roles)
    assert [slug for slug, n in role_slugs.items() if n > 1] == []
    memberships = e2e.infisical_docs("project_membership", project_id + "/")
    member_ids = collections.Counter(str(m["identityId"]) for m in memberships)
    assert [i for i, n in member_ids.items() if n > 1] == []
    by_name = {d["name"]: str(d["id"]) for d in e2e.infisical_docs("identity")}
    for name in IDENTITIES:
        assert member_ids[by_name[name]] == 1, f"{name} has no project membership"
    records = collections.Counter(
        (e["key"], tuple(sorted(e["target"]))) for e in e2e.vercel_envs("journal-web")
    )
    assert [r for r, n in records.items() if n > 1] == []
    assert len(records) == 6


def assert_vercel_credentials_log_in(e2e: E2E) -> None:
    response = httpx.post(
        e2e.sandbox.url("infisical") + "/api/v1/auth/universal-auth/login",
        json={
            "clientId": e2e.vercel_value("journal-web", "INFISICAL_CLIENT_ID"),
            "clientSecret": e2e.vercel_value("journal-web", "INFISICAL_CLIENT_SECRET"),
        },
        timeout=10,
    )
    assert response.status_code == 200, response.status_code


@pytest.mark.parametrize("writes", [3, 9], ids=["mid-identity", "after-mint"])
def test_killed_apply_is_shown_by_status_and_resumed_without_duplicates(
    slow: E2E, writes: int
) -> None:
    kill_apply_after_writes(slow, writes)

    status = slow.cli("status", "journal")
    assert status.exit_code == 0, status.output
    assert "interrupted" in status.stdout, status.stdout
    assert "  ⚠️  unfinished: " in status.stdout, status.stdout
    assert "  ▶ resume with: converge apply journal" in status.stdout.splitlines()
    stopped_in = "infisical" if writes == 3 else "vercel"  # where the kill landed
    assert any(
        line.startswith(f"  {stopped_in:<10} unfinished: ") for line in status.stdout.splitlines()
    ), status.stdout

    resumed = slow.cli("apply", "journal")
    assert resumed.exit_code == 0, resumed.output
    second_plan = slow.cli("plan", "journal")
    assert second_plan.exit_code == 0, second_plan.stdout
    assert_nothing_duplicated(slow)
    assert_vercel_credentials_log_in(slow)
    after = slow.cli("status", "journal")
    assert "unfinished" not in after.stdout and "resume with" not in after.stdout, after.stdout
    assert "  vercel     applied: 4 managed objects" in after.stdout, after.stdout


def test_resume_after_a_lost_mint_leaves_only_the_client_secret_in_vercel_valid(
    slow: E2E,
) -> None:
    kill_apply_after_writes(slow, 9)
    status = slow.cli("--output", "json", "status", "journal")
    assert status.exit_code == 0, status.output
    [report] = json.loads(status.stdout)["projects"]
    # the kill landed after the mint's POST: its answer may or may not have been recorded
    assert {c["state"] for c in report["credentials"]} <= {"minting"}

    assert slow.cli("apply", "journal").exit_code == 0
    after = json.loads(slow.cli("--output", "json", "status", "journal").stdout)
    assert after["projects"][0]["credentials"] == []
    identity = next(
        d for d in slow.infisical_docs("identity") if d["name"] == "token-service@journal-prod"
    )
    valid = [
        s
        for s in slow.infisical_docs("client_secret", f"{identity['id']}/")
        if not s["isClientSecretRevoked"]
    ]
    assert len(valid) == 1
