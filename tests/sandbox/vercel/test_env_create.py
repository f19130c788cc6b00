"""Creating env vars: shapes, uniqueness, upsert, names, sizes and placement rules."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.vercel.conftest import Api, stored_envs

ENVS = "/v10/projects/journal-web/env"


def var(key: str, value: str = "v", *, type_: str = "encrypted",
        target: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"key": key, "value": value, "type": type_,
            "target": target if target is not None else ["production"], **extra}


def keys(api: Api) -> list[str]:
    return sorted(e["key"] for e in stored_envs(api.world, "journal-web"))


def test_single_object_create_answers_201_with_one_created_object(api: Api) -> None:
    response = api.post(ENVS, json=var("API_URL", "https://x"))
    assert response.status_code == 201
    body = response.json()
    assert body["failed"] == []
    assert body["created"]["key"] == "API_URL"
    assert body["created"]["decrypted"] is False
    assert body["created"]["value"] != "https://x"
    assert keys(api) == ["API_URL"]


def test_array_create_answers_with_a_created_array(api: Api) -> None:
    response = api.post(ENVS, json=[var("A"), var("B", target=["preview"], gitBranch="staging",
                                                    comment="beta")])
    assert response.status_code == 201
    created = response.json()["created"]
    assert [c["key"] for c in created] == ["A", "B"]
    assert created[1]["gitBranch"] == "staging"
    assert created[1]["comment"] == "beta"
    assert "gitBranch" not in created[0]


def test_exact_duplicate_is_403_env_already_exists_with_the_existing_id(api: Api) -> None:
    first = api.post(ENVS, json=var("DUP")).json()["created"]
    response = api.post(ENVS, json=var("DUP", "zq-second-value"))
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "ENV_ALREADY_EXISTS"
    assert error["envVarId"] == first["id"]
    assert "zq-second-value" not in response.text
    assert [e["value"] for e in stored_envs(api.world, "journal-web")] == ["v"]


def test_partial_target_overlap_is_400_env_conflict(api: Api) -> None:
    api.post(ENVS, json=var("K", target=["production", "preview"]))
    response = api.post(ENVS, json=var("K", target=["preview", "development"]))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "ENV_CONFLICT"
    assert (error["key"], error["target"]) == ("K", ["preview"])


def test_same_key_on_disjoint_targets_is_allowed(api: Api) -> None:
    api.post(ENVS, json=var("K", "prod", target=["production"]))
    response = api.post(ENVS, json=var("K", "dev", type_="plain", target=["development"]))
    assert response.status_code == 201
    assert keys(api) == ["K", "K"]


def test_branch_scoped_and_generic_preview_vars_coexist(api: Api) -> None:
    api.post(ENVS, json=var("K", target=["preview"]))
    response = api.post(ENVS, json=var("K", target=["preview"], gitBranch="feat-x"))
    assert response.status_code == 201


def test_upsert_overwrites_the_exact_match_in_place(api: Api) -> None:
    first = api.post(ENVS, json=var("K", "one", target=["production", "preview"]))
    first_id = first.json()["created"]["id"]
    response = api.post(ENVS, params={"upsert": "true"},
                        json=[var("K", "two", target=["preview", "production"])])
    assert response.status_code == 201
    assert response.json()["created"][0]["id"] == first_id
    (record,) = stored_envs(api.world, "journal-web")
    assert (record["id"], record["value"]) == (first_id, "two")


def test_upsert_with_a_different_target_set_is_env_conflict(api: Api) -> None:
    api.post(ENVS, json=var("K", target=["production", "preview"]))
    response = api.post(ENVS, params={"upsert": "true"},
                        json=var("K", target=["production", "preview", "development"]))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ENV_CONFLICT"


def test_upsert_of_a_new_key_creates_it(api: Api) -> None:
    response = api.post(ENVS, params={"upsert": "true"}, json=var("FRESH"))
    assert response.status_code == 201
    assert keys(api) == ["FRESH"]


def test_array_with_some_failures_creates_the_rest_and_lists_failures(api: Api) -> None:
    response = api.post(ENVS, json=[var("GOOD"), var("1BAD"), var("GOOD")])
    assert response.status_code == 201
    body = response.json()
    assert [c["key"] for c in body["created"]] == ["GOOD"]
    assert [f["error"]["code"] for f in body["failed"]] == [
        "KEY_INVALID_CHARACTERS", "ENV_ALREADY_EXISTS",
    ]
    assert keys(api) == ["GOOD"]


def test_array_where_every_item_fails_is_400_with_failed(api: Api) -> None:
    response = api.post(ENVS, json=[var("TZ"), var("BAD-NAME")])
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "No environment variables were created"
    assert len(response.json()["failed"]) == 2
    assert keys(api) == []


@pytest.mark.parametrize("key", ["1STARTS_WITH_DIGIT", "HAS-DASH", "HAS SPACE", "ÜMLAUT"])
def test_invalid_key_characters_are_rejected(api: Api, key: str) -> None:
    response = api.post(ENVS, json=var(key))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "KEY_INVALID_CHARACTERS"


@pytest.mark.parametrize("key", ["_LEADING_UNDERSCORE", "lower_case", "A1"])
def test_valid_keys_are_accepted(api: Api, key: str) -> None:
    assert api.post(ENVS, json=var(key)).status_code == 201


@pytest.mark.parametrize("key", ["TZ", "AWS_SECRET_KEY", "NOW_REGION", "LAMBDA_TASK_ROOT"])
def test_reserved_names_are_rejected(api: Api, key: str) -> None:
    response = api.post(ENVS, json=var(key))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "RESERVED_ENV_VARIABLE"


@pytest.mark.parametrize("key", ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"])
def test_allowed_aws_names_are_accepted(api: Api, key: str) -> None:
    assert api.post(ENVS, json=var(key)).status_code == 201


def test_value_over_64_kib_with_its_name_is_rejected(api: Api) -> None:
    too_big = "x" * (64 * 1024)
    response = api.post(ENVS, json=var("BIG", too_big))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALUE_INVALID_LENGTH"
    assert too_big not in response.text
    fits = "x" * (64 * 1024 - len("BIG"))
    assert api.post(ENVS, json=var("BIG", fits)).status_code == 201


def test_sensitive_var_cannot_target_development(api: Api) -> None:
    response = api.post(ENVS, json=var("S", "secret", type_="sensitive",
                                       target=["preview", "development"]))
    assert response.status_code == 400
    assert "secret" not in response.json()["error"]["message"]
    assert keys(api) == []


def test_git_branch_requires_preview_only_target(api: Api) -> None:
    response = api.post(ENVS, json=var("K", target=["production", "preview"],
                                       gitBranch="feat-x"))
    assert response.status_code == 400


def test_git_branch_cannot_be_the_production_branch(api: Api) -> None:
    response = api.post(ENVS, json=var("K", target=["preview"], gitBranch="main"))
    assert response.status_code == 400


def test_git_branch_longer_than_250_characters_is_rejected(api: Api) -> None:
    response = api.post(ENVS, json=var("K", target=["preview"], gitBranch="b" * 251))
    assert response.status_code == 400


def test_legacy_secret_type_is_rejected(api: Api) -> None:
    response = api.post(ENVS, json=var("K", type_="secret"))
    assert response.status_code == 400


def test_unknown_property_is_rejected(api: Api) -> None:
    response = api.post(ENVS, json={**var("K"), "sensitive": True})
    assert response.status_code == 400
    assert "sensitive" in response.json()["error"]["message"]


def test_missing_target_is_rejected(api: Api) -> None:
    response = api.post(ENVS, json={"key": "K", "value": "v", "type": "plain"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MISSING_TARGET"


def test_comment_longer_than_500_characters_is_rejected(api: Api) -> None:
    response = api.post(ENVS, json=var("K", comment="c" * 501))
    assert response.status_code == 400


def test_unknown_custom_environment_is_rejected(api: Api) -> None:
    response = api.post(ENVS, json={"key": "K", "value": "v", "type": "plain",
                                    "customEnvironmentIds": ["env_nope"]})
    assert response.status_code == 400


def test_system_var_with_a_value_is_rejected(api: Api) -> None:
    response = api.post(ENVS, json=var("K", "v", type_="system"))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "SYSTEM_ENV_WITH_VALUE"


def test_body_that_is_not_json_is_400(api: Api) -> None:
    app_response = api.request("POST", ENVS, json=None)
    assert app_response.status_code == 400
    assert app_response.json()["error"]["code"] == "bad_request"
