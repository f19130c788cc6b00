"""``converge health`` against a real sandbox: healthy after apply; each broken fact (made
by hand through the emulators' HTTP APIs) fails its own check line and exit 1."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jwt
import pytest

from converge.ops.health import check_health
from converge_sandbox.vercel import seed as vercel_seed
from tests.e2e.conftest import E2E, JOURNAL_SUPABASE_REF, VERCEL_BIN
from tests.support.context import run_context

VPROJECT = "journal-web"


def vercel_patch(world: E2E, key: str, value: str) -> None:
    [record] = [e for e in world.vercel_envs(VPROJECT) if e["key"] == key]
    response = httpx.patch(
        f"{world.sandbox.url('vercel')}/v9/projects/{VPROJECT}/env/{record['id']}",
        params={"teamId": vercel_seed.team_id()}, json={"value": value},
        headers={"Authorization": f"Bearer {world.sandbox.world.credentials.vercel_token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text


def supabase(world: E2E, method: str, path: str, **kw: Any) -> None:
    headers = {"Authorization": f"Bearer {world.sandbox.world.credentials.supabase_access_token}"}
    response = httpx.request(method, world.sandbox.url("supabase") + path, headers=headers,
                             timeout=30, **kw)
    assert response.status_code < 300, response.text


def failing_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if "❌ fail" in line]


def reapply(world: E2E) -> None:
    result = world.cli("apply", "journal")
    assert result.exit_code == 0, result.output
    assert world.cli("health", "journal").exit_code == 0


def test_healthy_right_after_apply_one_line_per_check(health_world: E2E) -> None:
    result = health_world.cli("health", "journal")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert not failing_lines(result.stdout)
    for expected in (
        "infisical identity token-service@journal-prod exists with universal auth",
        "infisical binding ci@github-prod -> ci-prod",
        "vercel    INFISICAL_CLIENT_SECRET present (production, sensitive)",
        "vercel    no secret in the 4 public variable(s) of acme/journal-web",
        f"supabase  {JOURNAL_SUPABASE_REF} RLS on every table of public",
        f"supabase  {JOURNAL_SUPABASE_REF} jwt_exp within 86400s: jwt_exp=3600s",
        "supabase  NEXT_PUBLIC_SUPABASE_ANON_KEY carries the JWT role anon",
    ):
        assert any(expected in line and "✅ pass" in line for line in lines), expected
    assert lines[-1].startswith("journal: healthy (")


def test_check_health_returns_a_structured_report_for_gates(health_world: E2E) -> None:
    with run_context(health_world.root, health_world.live_env(), journal=False) as context:
        report = check_health(context, "journal")
    assert report.healthy
    assert report.failures == ()
    assert report.counts()["pass"] >= 15
    assert {c.system for c in report.checks} == {"infisical", "vercel", "supabase"}
    assert report.requests > 0


def test_table_without_rls_fails_the_rls_check_naming_the_table(health_world: E2E) -> None:
    supabase(health_world, "POST", f"/v1/projects/{JOURNAL_SUPABASE_REF}/database/query",
             json={"query": "alter table public.tags disable row level security"})
    result = health_world.cli("health", "journal")
    assert result.exit_code == 1
    [line] = failing_lines(result.stdout)
    assert "RLS on every table of public: RLS off on public.tags" in line
    assert "journal: NOT healthy" in result.stdout
    reapply(health_world)


def test_jwt_exp_beyond_policy_fails(health_world: E2E) -> None:
    supabase(health_world, "PATCH", f"/v1/projects/{JOURNAL_SUPABASE_REF}/config/auth",
             json={"jwt_exp": 172800})
    result = health_world.cli("health", "journal")
    assert result.exit_code == 1
    [line] = failing_lines(result.stdout)
    assert "jwt_exp within 86400s: jwt_exp=172800" in line
    reapply(health_world)


def test_secret_in_a_public_variable_fails_without_showing_it(health_world: E2E) -> None:
    leaked = "AKIA" + "Q3EGRIMXZ7TLVB4N"  # an AWS access key id shape
    vercel_patch(health_world, "NEXT_PUBLIC_API_URL", leaked)
    result = health_world.cli("health", "journal")
    assert result.exit_code == 1
    [line] = failing_lines(result.stdout)
    assert "NEXT_PUBLIC_API_URL is public and holds no secret: looks like" in line
    assert leaked not in result.output
    reapply(health_world)


def test_published_anon_key_with_service_role_fails(health_world: E2E) -> None:
    key = "NEXT_PUBLIC_SUPABASE_ANON_KEY"
    original = health_world.vercel_value(VPROJECT, key)
    forged = jwt.encode({"role": "service_role", "ref": JOURNAL_SUPABASE_REF}, "x" * 32,
                        algorithm="HS256")
    vercel_patch(health_world, key, forged)
    try:
        result = health_world.cli("health", "journal", "--output", "json")
        assert result.exit_code == 1
        report = json.loads(result.stdout)
        failed = {c["name"]: c["detail"] for c in report["reports"][0]["checks"]
                  if c["status"] == "fail"}
        assert failed[f"{key} carries the JWT role anon"] == "role is 'service_role'"
        assert f"{key} is public and holds no secret" in failed
        assert forged not in result.output
    finally:
        vercel_patch(health_world, key, original)
    assert health_world.cli("health", "journal").exit_code == 0


def test_binding_removed_fails_the_binding_check(health_world: E2E) -> None:
    project_id = health_world.infisical_project_id("journal")
    [ci] = [d["id"] for d in health_world.infisical_docs("identity")
            if d["name"] == "ci@github-prod"]
    response = health_world.infisical(
        "DELETE", f"/api/v1/projects/{project_id}/identity-memberships/{ci}")
    assert response.status_code == 200, response.text
    result = health_world.cli("health", "journal")
    assert result.exit_code == 1
    [line] = failing_lines(result.stdout)
    assert "binding ci@github-prod -> ci-prod: the identity is not a member" in line
    reapply(health_world)


@pytest.mark.skipif(not VERCEL_BIN.exists(), reason="npm vendor clients not installed")
def test_vendor_cli_runs_vercel_env_ls_and_skips_what_cannot_run(health_world: E2E) -> None:
    result = health_world.cli("health", "journal", "--vendor-cli",
                              env={"CONVERGE_VERCEL_CLI": str(VERCEL_BIN)})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any("✅ pass vercel    vercel env ls: lists all 4 desired key(s)" in line
               for line in lines), result.stdout
    assert any("skip infisical infisical identities list: the Infisical CLI is not "
               "installable" in line for line in lines)
    assert any("skip supabase  supabase db dump" in line for line in lines)
    assert health_world.sandbox.world.credentials.vercel_token not in result.output
