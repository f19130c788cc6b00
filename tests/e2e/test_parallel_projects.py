"""``apply --jobs 2`` over three projects converges them all, auth-service in both of its
regions, and leaves the variable converge does not manage alone."""

from __future__ import annotations

import psycopg
import pytest

from converge_sandbox.vercel import seed as vercel_seed
from tests.e2e.conftest import E2E

pytestmark = pytest.mark.integration

E2E_PROJECTS = ("journal", "analytics", "auth-service")
AUTH_SERVICE_REFS = ("authsvceuwestqzvtkwm", "authsvcuseastqzvtkwm")


def unmanaged_record(e2e: E2E) -> dict[str, object]:
    records = [
        e
        for e in e2e.vercel_envs(vercel_seed.UNMANAGED_PROJECT)
        if e["key"] == vercel_seed.UNMANAGED_ENV_KEY
    ]
    assert len(records) == 1
    return records[0]


def test_parallel_apply_converges_three_projects_and_a_second_plan_is_empty(e2e: E2E) -> None:
    segment_before = unmanaged_record(e2e)

    applied = e2e.cli("apply", "--jobs", "2", *E2E_PROJECTS)
    second = e2e.cli("plan", *E2E_PROJECTS)

    assert applied.exit_code == 0, applied.output
    for project in E2E_PROJECTS:
        assert f"{project}: done" in applied.stderr
        assert f"] {project}: failed" not in applied.stderr
    assert f"[{len(E2E_PROJECTS)}/{len(E2E_PROJECTS)}]" in applied.stderr
    assert second.exit_code == 0, second.stdout
    assert second.stdout.count("No changes.") == len(E2E_PROJECTS)
    for ref in AUTH_SERVICE_REFS:
        config = e2e.sandbox.world.store.get("supabase", "auth_config", ref)
        assert config is not None
        assert config["jwt_exp"] == 900
        assert config["site_url"] == "https://login.acme.example"
        assert config["password_min_length"] == 14
        with psycopg.connect(e2e.database_url(ref)) as conn:
            open_tables = conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') "
                "AND NOT c.relrowsecurity"
            ).fetchall()
        assert open_tables == [], ref
    assert unmanaged_record(e2e) == segment_before
    analytics_keys = {e["key"] for e in e2e.vercel_envs(vercel_seed.UNMANAGED_PROJECT)}
    assert len(analytics_keys) > 1  # analytics' own variables were applied beside it
