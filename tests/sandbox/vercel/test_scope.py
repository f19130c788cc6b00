"""Auth and team scoping of the Vercel emulator, in-process."""

from __future__ import annotations

from converge_sandbox.vercel import seed as vercel_seed
from tests.sandbox.vercel.conftest import Api


def test_missing_token_gets_403_with_missing_token_flag(api: Api) -> None:
    response = api.get("/v2/user", token="")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert response.json()["error"]["missingToken"] is True


def test_wrong_token_gets_403_with_invalid_token_flag_and_no_echo(api: Api) -> None:
    response = api.get("/v10/projects/journal-web/env", token="guessed-token")
    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "forbidden", "message": "Not authorized", "invalidToken": True,
    }
    assert "guessed-token" not in response.text


def test_user_lookup_returns_the_token_owner(api: Api) -> None:
    response = api.get("/v2/user", team=False)
    assert response.status_code == 200
    assert response.json()["user"]["id"] == vercel_seed.user_id()


def test_team_lookup_without_version_prefix_returns_id_and_slug(api: Api) -> None:
    response = api.get(f"/teams/{vercel_seed.team_id()}", team=False)
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["slug"]) == (vercel_seed.team_id(), "acme")


def test_team_list_maps_the_slug_to_the_id(api: Api) -> None:
    teams = api.get("/v1/teams", team=False).json()["teams"]
    assert [(t["id"], t["slug"]) for t in teams] == [(vercel_seed.team_id(), "acme")]


def test_project_is_found_by_id_and_by_name_in_team_scope(api: Api) -> None:
    by_id = api.get(f"/v9/projects/{vercel_seed.project_id('journal-web')}")
    by_name = api.get("/v9/projects/journal-web")
    assert by_id.status_code == by_name.status_code == 200
    assert by_id.json()["id"] == by_name.json()["id"] == vercel_seed.project_id("journal-web")
    assert by_id.json()["accountId"] == vercel_seed.team_id()


def test_project_is_found_with_slug_scoping(api: Api) -> None:
    response = api.get("/v9/projects/journal-web", team=False, params={"slug": "acme"})
    assert response.status_code == 200


def test_team_project_without_team_scope_is_not_found(api: Api) -> None:
    response = api.get("/v9/projects/journal-web", team=False)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    listing = api.get("/v10/projects/journal-web/env", team=False)
    assert listing.status_code == 404


def test_unknown_team_is_forbidden(api: Api) -> None:
    response = api.get("/v9/projects/journal-web", params={"teamId": "team_nope"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_unknown_project_is_not_found(api: Api) -> None:
    response = api.get("/v10/projects/no-such-project/env")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_unknown_route_and_method_use_vercel_error_bodies(api: Api) -> None:
    assert api.get("/v99/nothing").json()["error"]["code"] == "not_found"
    wrong_method = api.request("PUT", "/v2/user")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_unknown"


def test_custom_environments_list_is_empty(api: Api) -> None:
    response = api.get("/projects/journal-web/custom-environments")
    assert response.status_code == 200
    assert response.json()["environments"] == []
