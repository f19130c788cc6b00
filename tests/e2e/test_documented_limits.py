"""Against the vendors' documented rate limits (the sandbox's default), converge's own
pacing keeps a first apply and the plan after it free of 429s, and every limited response
advertises the documented figure, not a scaled one."""

from __future__ import annotations

import httpx
import pytest

from converge_sandbox.vercel import seed as vercel_seed
from tests.e2e.conftest import E2E

pytestmark = pytest.mark.integration

E2E_RATE_LIMITS = "real"


def test_apply_then_plan_stay_within_the_documented_limits(e2e: E2E) -> None:
    applied = e2e.cli("apply", "journal")
    planned = e2e.cli("plan", "journal")

    assert applied.exit_code == 0, applied.output
    assert planned.exit_code == 0, planned.output
    entries = e2e.sandbox.request_log.entries()
    assert entries and not [e for e in entries if e.status == 429]


def test_headers_advertise_the_documented_limits(e2e: E2E) -> None:
    response = httpx.get(
        f"{e2e.sandbox.url('vercel')}/v10/projects/journal-web/env",
        params={"teamId": vercel_seed.team_id()},
        headers={"Authorization": f"Bearer {e2e.sandbox.world.credentials.vercel_token}"},
    )
    assert response.status_code == 200
    assert response.headers["x-ratelimit-limit"] == "500"  # vercel-api.md §6
    assert "x-sandbox-ratelimit-scale" not in response.headers
