"""The brief's CI credentials for Supabase (issue 9, item 6): ``reconcile-supabase.py``
given a project's URL and service_role key, or run with ``SUPABASE_SERVICE_KEY`` set as
the brief's CI does, stops at once with one sentence saying what that key can and cannot
do and that the Management API needs ``SUPABASE_ACCESS_TOKEN``: exit 4, no request, no
retry, the key never printed."""

from __future__ import annotations

import subprocess

import jwt
import pytest

from tests.conftest import REPO
from tests.e2e.conftest import E2E, base_env

pytestmark = pytest.mark.integration

REF = "journalprodqzvtkwmrx"
SERVICE_ROLE = jwt.encode({"iss": "supabase", "ref": REF, "role": "service_role"}, "k" * 32)
CAN_AND_CANNOT = (
    "it can use the project's data APIs (REST, GraphQL, Storage, Auth admin) but not the "
    "Management API, which converge uses to manage auth settings and run SQL; Supabase's "
    "Management API needs SUPABASE_ACCESS_TOKEN set to a personal access token (sbp_…)"
)


def script(e2e: E2E, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["./scripts/reconcile-supabase.py", "journal", *args],
        cwd=REPO, env=base_env(CONVERGE_WORKSPACE=str(e2e.root), **env),
        capture_output=True, text=True, timeout=60, check=False,
    )


def test_the_briefs_project_url_and_service_role_key_are_refused_in_one_sentence(
    e2e: E2E,
) -> None:
    e2e.sandbox.request_log.reset()

    done = script(e2e, "--supabase-url", f"https://{REF}.supabase.co",
                  "--supabase-key", SERVICE_ROLE)

    assert done.returncode == 4, done.stdout + done.stderr
    first = done.stderr.splitlines()[0]
    assert first == (
        f"error: --supabase-key holds a Supabase project's service_role key (a JWT with role "
        f"service_role, project {REF}): {CAN_AND_CANNOT}; --supabase-url is that project's "
        "URL, not the Management API")
    assert SERVICE_ROLE not in done.stdout + done.stderr
    assert "degraded" not in done.stderr and "attempt" not in done.stderr
    assert e2e.sandbox.request_log.count() == 0


def test_the_briefs_ci_variable_supabase_service_key_is_refused_before_any_supabase_request(
    e2e: E2E,
) -> None:
    live = {k: v for k, v in e2e.live_env().items() if k != "SUPABASE_ACCESS_TOKEN"}
    e2e.sandbox.request_log.reset()

    done = script(e2e, **live, CONVERGE_TARGET="live", SUPABASE_SERVICE_KEY=SERVICE_ROLE)

    assert done.returncode == 4, done.stdout + done.stderr
    assert (f"SUPABASE_SERVICE_KEY holds a Supabase project's service_role key (a JWT with "
            f"role service_role, project {REF}), which converge does not read: "
            f"{CAN_AND_CANNOT}") in done.stderr
    assert SERVICE_ROLE not in done.stdout + done.stderr
    assert e2e.sandbox.request_log.count("supabase") == 0
    assert e2e.sandbox.request_log.write_count() == 0
