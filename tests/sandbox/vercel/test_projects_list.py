"""The project list (``GET /v10/projects``, ``/v9`` for the CLI, ``/v8`` for Terraform):
team scoping, most recently updated first, ``limit``/``until``/``from``/``since`` paging."""

from __future__ import annotations

import pytest

from converge_sandbox.vercel import seed as vercel_seed
from converge_sandbox.vercel.models import ProjectRecord
from converge_sandbox.vercel.state import VercelState
from converge_sandbox.world import SandboxWorld
from tests.sandbox.vercel.conftest import Api

SEEDED = ["analytics-dashboard", "journal-web"]  # newest first


def add_projects(world: SandboxWorld, count: int) -> list[str]:
    """``count`` more team projects, updated one minute apart; their names, newest first."""
    state = VercelState(world)
    names = []
    for i in range(count):
        at = 1_800_000_000_000 + i * 60_000
        name = f"app-{i:02d}"
        state.put_project(ProjectRecord(id=f"prj_app{i:02d}", name=name,
                                        account_id=vercel_seed.team_id(), created_at=at,
                                        updated_at=at))
        names.append(name)
    return names[::-1]


def names(response_json: dict[str, object]) -> list[str]:
    projects = response_json["projects"]
    assert isinstance(projects, list)
    return [p["name"] for p in projects]


@pytest.mark.parametrize("version", ["v4", "v8", "v9", "v10"])
def test_every_version_lists_the_teams_projects(api: Api, version: str) -> None:
    response = api.get(f"/{version}/projects")
    assert response.status_code == 200
    assert names(response.json()) == SEEDED
    assert response.json()["pagination"] == {"count": 2, "next": None, "prev": None}
    project = response.json()["projects"][0]
    assert {"id", "name", "accountId", "updatedAt", "nodeVersion",
            "serverlessFunctionRegion"} <= set(project)


def test_the_slug_scopes_like_the_team_id_and_no_scope_is_the_users_own(api: Api) -> None:
    assert names(api.get("/v10/projects", team=False,
                         params={"slug": vercel_seed.TEAM_SLUG}).json()) == SEEDED
    personal = api.get("/v10/projects", team=False)
    assert personal.status_code == 200
    assert personal.json() == {"projects": [], "pagination": {"count": 0, "next": None,
                                                              "prev": None}}


def test_a_bad_token_or_a_foreign_team_is_refused(api: Api) -> None:
    assert api.get("/v10/projects", token="wrong").status_code == 403
    foreign = api.get("/v10/projects", params={"teamId": "team_someoneelse"})
    assert foreign.status_code == 403
    assert foreign.json()["error"]["code"] == "forbidden"


def test_the_default_page_is_twenty_and_until_gives_the_next(api: Api) -> None:
    expected = add_projects(api.world, 23) + SEEDED
    first = api.get("/v9/projects").json()
    second = api.get("/v9/projects", params={"until": str(first["pagination"]["next"])}).json()
    assert names(first) == expected[:20]
    assert names(second) == expected[20:]
    assert second["pagination"]["next"] is None
    assert second["pagination"]["prev"] == first["projects"][-1]["updatedAt"] - 60_000
    back = api.get("/v9/projects", params={"since": str(second["pagination"]["prev"])}).json()
    assert names(back) == expected[:20]


def test_from_continues_after_pagination_next(api: Api) -> None:
    expected = add_projects(api.world, 5) + SEEDED
    walked: list[str] = []
    params = {"limit": "3"}
    while True:
        page = api.get("/v10/projects", params=params).json()
        walked += names(page)
        if page["pagination"]["next"] is None:
            break
        params = {"limit": "3", "from": str(page["pagination"]["next"])}
    assert walked == expected


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "101"}, {"limit": "ten"},
                                   {"until": "yesterday"}, {"search": "x" * 101}])
def test_bad_paging_parameters_are_400(api: Api, query: dict[str, str]) -> None:
    response = api.get("/v10/projects", params=query)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


def test_search_matches_part_of_the_name_and_repo_filters_match_nothing(api: Api) -> None:
    assert names(api.get("/v10/projects", params={"search": "JOURNAL"}).json()) == [
        "journal-web"
    ]
    for query in ({"repo": "acme/journal"}, {"edgeConfigId": "ecfg_1"},
                  {"deprecated": "true"}):
        assert names(api.get("/v10/projects", params=query).json()) == []
