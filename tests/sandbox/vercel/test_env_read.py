"""Reading env vars: what each endpoint and API version reveals, filters, paging, pull."""

from __future__ import annotations

from typing import Any

import pytest

from converge_sandbox.vercel import seed as vercel_seed
from tests.sandbox.vercel.conftest import Api

PROJECT = "journal-web"


def create(api: Api, key: str, value: str, type_: str, target: list[str],
           **extra: Any) -> dict[str, Any]:
    response = api.post(f"/v10/projects/{PROJECT}/env",
                        json={"key": key, "value": value, "type": type_, "target": target,
                              **extra})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()["created"]
    return created


@pytest.fixture
def three(api: Api) -> dict[str, str]:
    """One plain, one encrypted and one sensitive var; returns key -> id."""
    return {
        "PLAIN": create(api, "PLAIN", "plain-value", "plain", ["development"])["id"],
        "ENC": create(api, "ENC", "enc-value", "encrypted", ["production", "preview"])["id"],
        "SENS": create(api, "SENS", "sens-value", "sensitive", ["production"])["id"],
    }


def listed(api: Api, version: str, **params: str) -> dict[str, dict[str, Any]]:
    response = api.get(f"/{version}/projects/{PROJECT}/env", params=params)
    assert response.status_code == 200
    return {e["key"]: e for e in response.json()["envs"]}


@pytest.mark.parametrize("version", ["v9", "v10"])
def test_list_hides_encrypted_and_sensitive_values_even_with_decrypt(
    api: Api, three: dict[str, str], version: str
) -> None:
    envs = listed(api, version, decrypt="true")
    assert envs["PLAIN"]["value"] == "plain-value"
    assert (envs["ENC"]["decrypted"], envs["SENS"]["decrypted"]) == (False, False)
    assert envs["ENC"]["value"] != "enc-value"
    assert envs["SENS"]["value"] != "sens-value"
    assert all(e["securityIssues"] == [] for e in envs.values())


def test_v8_list_with_decrypt_reveals_encrypted_but_never_sensitive(
    api: Api, three: dict[str, str]
) -> None:
    envs = listed(api, "v8", decrypt="true")
    assert (envs["ENC"]["value"], envs["ENC"]["decrypted"]) == ("enc-value", True)
    assert envs["SENS"]["value"] != "sens-value"
    assert envs["SENS"]["decrypted"] is False


def test_list_answers_with_envs_and_pagination(api: Api, three: dict[str, str]) -> None:
    body = api.get(f"/v10/projects/{PROJECT}/env").json()
    assert body["pagination"] == {"count": 3, "next": None, "prev": None}


def test_get_one_decrypts_encrypted_and_omits_sensitive_value(
    api: Api, three: dict[str, str]
) -> None:
    enc = api.get(f"/v1/projects/{PROJECT}/env/{three['ENC']}").json()
    assert (enc["value"], enc["decrypted"]) == ("enc-value", True)
    sens = api.get(f"/v1/projects/{PROJECT}/env/{three['SENS']}")
    assert sens.status_code == 200
    assert "value" not in sens.json()
    assert sens.json()["decrypted"] is False
    assert "sens-value" not in sens.text


def test_get_one_of_an_unknown_id_is_404(api: Api) -> None:
    response = api.get(f"/v1/projects/{PROJECT}/env/doesnotexist")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_list_filters_by_target(api: Api, three: dict[str, str]) -> None:
    assert set(listed(api, "v10", target="production")) == {"ENC", "SENS"}
    assert set(listed(api, "v10", target="development")) == {"PLAIN"}


def test_list_git_branch_filter_keeps_vars_that_apply_on_the_branch(api: Api) -> None:
    create(api, "GENERIC", "g", "encrypted", ["preview"])
    create(api, "MINE", "m", "encrypted", ["preview"], gitBranch="feat-x")
    create(api, "OTHER", "o", "encrypted", ["preview"], gitBranch="feat-y")
    assert set(listed(api, "v10", target="preview", gitBranch="feat-x")) == {"GENERIC", "MINE"}


def test_paging_with_limit_and_until_visits_every_var_once(api: Api) -> None:
    for i in range(5):
        create(api, f"K{i}", "v", "plain", ["development"])
    seen: list[str] = []
    params = {"limit": "2"}
    while True:
        body = api.get(f"/v8/projects/{PROJECT}/env", params=params).json()
        seen += [e["key"] for e in body["envs"]]
        if body["pagination"]["next"] is None:
            break
        params = {"limit": "2", "until": str(body["pagination"]["next"])}
    assert sorted(seen) == [f"K{i}" for i in range(5)]


def test_ciphertext_changes_when_the_value_changes(api: Api, three: dict[str, str]) -> None:
    before = listed(api, "v10")["ENC"]["value"]
    assert listed(api, "v10")["ENC"]["value"] == before
    api.patch(f"/v9/projects/{PROJECT}/env/{three['ENC']}", json={"value": "new"})
    assert listed(api, "v10")["ENC"]["value"] != before


def test_pull_gives_plaintext_system_vars_and_empty_sensitive_values(
    api: Api, three: dict[str, str]
) -> None:
    pid = vercel_seed.project_id(PROJECT)
    env = api.get(f"/v3/env/pull/{pid}/production").json()["env"]
    assert env["ENC"] == "enc-value"
    assert env["SENS"] == ""
    assert "PLAIN" not in env
    assert (env["VERCEL"], env["VERCEL_ENV"]) == ("1", "production")


def test_pull_on_a_branch_prefers_the_branch_scoped_value(api: Api) -> None:
    create(api, "URL", "generic", "encrypted", ["preview"])
    create(api, "URL", "scoped", "encrypted", ["preview"], gitBranch="feat/x")
    pid = vercel_seed.project_id(PROJECT)
    assert api.get(f"/v3/env/pull/{pid}/preview/feat/x").json()["env"]["URL"] == "scoped"
    assert api.get(f"/v3/env/pull/{pid}/preview").json()["env"]["URL"] == "generic"


def test_seeded_unmanaged_var_is_listed_in_analytics_dashboard(api: Api) -> None:
    response = api.get("/v10/projects/analytics-dashboard/env")
    (env,) = response.json()["envs"]
    assert (env["key"], env["type"], env["target"]) == (
        vercel_seed.UNMANAGED_ENV_KEY, "encrypted", ["production"]
    )
