"""Vercel through the whole sandbox: rate limits per owner (team or user), where a refused
token spends no one's quota and one team's quota is the same by id or slug; and a create
whose response is lost (the lost-response fault) is stored all the same."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from converge_sandbox.runner import RunningSandbox, start_sandbox
from converge_sandbox.vercel import seed as vercel_seed

ENV_PATH = f"/v10/projects/{vercel_seed.project_id('journal-web')}/env"
LIMITS = "vercel.api-projects-environment-variable-get=2"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[RunningSandbox]:
    with start_sandbox(tmp_path, faults="", rate_limits=LIMITS, start_database=None,
                       record=False) as running:
        running.wait_seeded()
        yield running


def _get(sandbox: RunningSandbox, token: str, **params: str) -> httpx.Response:
    return httpx.get(sandbox.url("vercel") + ENV_PATH, params=params,
                     headers={"Authorization": f"Bearer {token}"})


def test_requests_with_a_bad_token_are_not_charged_to_the_team(sandbox: RunningSandbox) -> None:
    team = vercel_seed.team_id()
    refused = [_get(sandbox, "not-the-token", teamId=team) for _ in range(5)]
    token = sandbox.world.credentials.vercel_token
    allowed = [_get(sandbox, token, teamId=team) for _ in range(2)]
    over = _get(sandbox, token, teamId=team)

    assert {r.status_code for r in refused} == {403}
    assert all(r.json()["error"]["invalidToken"] is True for r in refused)
    assert not [h for r in refused for h in r.headers if h.startswith("x-ratelimit")]
    assert [r.status_code for r in allowed] == [200, 200]
    assert [r.headers["x-ratelimit-remaining"] for r in allowed] == ["1", "0"]
    assert over.status_code == 429


def test_a_team_has_one_quota_by_id_or_slug_and_the_user_another(
    sandbox: RunningSandbox,
) -> None:
    token = sandbox.world.credentials.vercel_token
    by_id = _get(sandbox, token, teamId=vercel_seed.team_id())
    by_slug = _get(sandbox, token, slug=vercel_seed.TEAM_SLUG)
    third = _get(sandbox, token, teamId=vercel_seed.team_id())
    personal = _get(sandbox, token)  # the user's own account: 404, but its own quota

    assert [by_id.status_code, by_slug.status_code, third.status_code] == [200, 200, 429]
    assert by_slug.headers["x-ratelimit-remaining"] == "0"
    assert personal.status_code == 404
    assert personal.headers["x-ratelimit-remaining"] == "1"


def test_a_lost_response_create_is_stored_while_the_client_sees_a_dropped_connection(
    tmp_path: Path,
) -> None:
    faults = "lost_response_after=1,vendor=vercel"
    with start_sandbox(tmp_path, faults=faults, rate_limits="", start_database=None,
                       record=False) as running:
        running.wait_seeded()
        token = running.world.credentials.vercel_token
        with httpx.Client(base_url=running.url("vercel"),
                          headers={"Authorization": f"Bearer {token}"},
                          params={"teamId": vercel_seed.team_id()}) as client:
            with pytest.raises(httpx.RemoteProtocolError):
                client.post(ENV_PATH, json={"key": "LOST_ANSWER", "value": "v",
                                            "type": "encrypted", "target": ["production"]})
            listed = client.get(ENV_PATH).json()["envs"]
    assert [e["key"] for e in listed] == ["LOST_ANSWER"]
