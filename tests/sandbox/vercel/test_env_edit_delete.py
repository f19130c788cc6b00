"""Editing and deleting env vars, batch delete, and persistence across restarts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from converge_sandbox.store import SandboxStore
from converge_sandbox.vercel import seed as vercel_seed
from converge_sandbox.world import SandboxCredentials, SandboxWorld
from tests.sandbox.vercel.conftest import Api, stored_envs

PROJECT = "journal-web"
BASE = f"/v10/projects/{PROJECT}/env"


def create(api: Api, key: str, value: str = "v", type_: str = "encrypted",
           target: list[str] | None = None) -> str:
    response = api.post(BASE, json={"key": key, "value": value, "type": type_,
                                    "target": target or ["production"]})
    assert response.status_code == 201, response.text
    env_id: str = response.json()["created"]["id"]
    return env_id


def stored(api: Api) -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in stored_envs(api.world, PROJECT)}


def test_patch_changes_value_and_comment_in_place(api: Api) -> None:
    env_id = create(api, "K", "old")
    response = api.patch(f"/v9/projects/{PROJECT}/env/{env_id}",
                         json={"value": "new", "comment": "why"})
    assert response.status_code == 200
    assert response.json()["id"] == env_id
    assert response.json()["value"] != "new"
    record = stored(api)[env_id]
    assert (record["value"], record["comment"]) == ("new", "why")


def test_patch_as_the_cli_sends_it_keeps_targets(api: Api) -> None:
    env_id = create(api, "EXISTING_VAR", "old", target=["production", "preview"])
    response = api.patch(f"{BASE}/{env_id}", json={
        "type": "encrypted", "value": "newval", "target": ["production", "preview"],
        "key": "EXISTING_VAR",
    })
    assert response.status_code == 200
    assert stored(api)[env_id]["value"] == "newval"


def test_patch_that_would_clash_is_env_conflict_and_changes_nothing(api: Api) -> None:
    create(api, "K", target=["preview"])
    other = create(api, "K", target=["production"])
    response = api.patch(f"{BASE}/{other}", json={"target": ["production", "preview"]})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ENV_CONFLICT"
    assert stored(api)[other]["target"] == ["production"]


def test_patch_to_sensitive_on_development_is_rejected(api: Api) -> None:
    env_id = create(api, "K", type_="plain", target=["development"])
    response = api.patch(f"{BASE}/{env_id}", json={"type": "sensitive"})
    assert response.status_code == 400
    assert stored(api)[env_id]["type"] == "plain"


def test_patch_never_makes_a_sensitive_value_readable_again(api: Api) -> None:
    env_id = create(api, "K", "hidden", type_="sensitive")
    for body in ({"type": "encrypted"}, {"type": "plain", "value": "fresh"}):
        refused = api.patch(f"{BASE}/{env_id}", json=body)
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "bad_request"
    assert (stored(api)[env_id]["type"], stored(api)[env_id]["value"]) == ("sensitive", "hidden")


def test_patch_to_sensitive_as_the_cli_sends_it_turns_the_var_write_only(api: Api) -> None:
    # vercel env update --sensitive (CLI 58.10.0): type, value and targets, no key.
    env_id = create(api, "K", "readable", target=["production", "preview"])
    response = api.patch(f"{BASE}/{env_id}", json={
        "type": "sensitive", "value": "hidden", "target": ["production", "preview"],
    })
    assert response.status_code == 200
    assert "hidden" not in response.text
    assert (stored(api)[env_id]["type"], stored(api)[env_id]["value"]) == ("sensitive", "hidden")
    assert "value" not in api.get(f"/v1/projects/{PROJECT}/env/{env_id}").json()


def test_patch_naming_key_is_refused_for_a_sensitive_var(api: Api) -> None:
    # terraform-provider-vercel#154: updating a sensitive var with `key` in the body fails.
    hidden = create(api, "HIDDEN", "a", type_="sensitive")
    readable = create(api, "READABLE", "b")
    for env_id, key, body in (
        (hidden, "HIDDEN", {"key": "HIDDEN", "value": "a2"}),
        (readable, "READABLE", {"key": "READABLE", "type": "sensitive", "value": "b2"}),
    ):
        response = api.patch(f"{BASE}/{env_id}", json=body)
        assert response.status_code == 400
        assert response.json()["error"]["key"] == key
    assert {stored(api)[i]["value"] for i in (hidden, readable)} == {"a", "b"}
    assert api.patch(f"{BASE}/{hidden}", json={"value": "a3"}).status_code == 200


def test_upsert_turns_a_var_sensitive_but_never_back(api: Api) -> None:
    env_id = create(api, "K", "readable")
    body = {"key": "K", "value": "hidden", "type": "sensitive", "target": ["production"]}
    made_sensitive = api.post(BASE, params={"upsert": "true"}, json=body)
    back = api.post(BASE, params={"upsert": "true"}, json={**body, "type": "encrypted"})
    assert made_sensitive.status_code == 201
    assert made_sensitive.json()["created"]["id"] == env_id
    assert back.status_code == 400
    assert (stored(api)[env_id]["type"], stored(api)[env_id]["value"]) == ("sensitive", "hidden")


def test_patch_with_unknown_property_is_rejected(api: Api) -> None:
    env_id = create(api, "K")
    response = api.patch(f"{BASE}/{env_id}", json={"sensitive": True})
    assert response.status_code == 400


def test_patch_of_unknown_id_is_404(api: Api) -> None:
    response = api.patch(f"{BASE}/nope", json={"value": "x"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_delete_removes_the_record_and_returns_it(api: Api) -> None:
    env_id = create(api, "K")
    for version in ("v9",):
        response = api.delete(f"/{version}/projects/{PROJECT}/env/{env_id}")
        assert response.status_code == 200
        assert response.json()["id"] == env_id
    assert env_id not in stored(api)
    assert api.delete(f"{BASE}/{env_id}").status_code == 404


def test_delete_through_v8_as_terraform_does(api: Api) -> None:
    env_id = create(api, "K")
    assert api.delete(f"/v8/projects/{PROJECT}/env/{env_id}").status_code == 200
    assert stored(api) == {}


def test_batch_delete_removes_the_listed_ids_only(api: Api) -> None:
    a, b, c = create(api, "A"), create(api, "B"), create(api, "C")
    response = api.delete(f"/v1/projects/{PROJECT}/env", json={"ids": [a, c, "unknown"]})
    assert response.status_code == 200
    assert response.json() == {"deleted": 2, "ids": [a, c]}
    assert set(stored(api)) == {b}


def test_batch_delete_rejects_empty_and_oversized_id_lists(api: Api) -> None:
    create(api, "A")
    empty = api.delete(f"/v1/projects/{PROJECT}/env", json={"ids": []})
    too_many = api.delete(f"/v1/projects/{PROJECT}/env",
                          json={"ids": [f"id{i}" for i in range(1001)]})
    assert (empty.status_code, too_many.status_code) == (400, 400)
    assert len(stored(api)) == 1


def test_a_restarted_emulator_sees_the_same_world(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.db"
    store = SandboxStore(path)
    credentials = SandboxCredentials.load_or_create(store)
    first = SandboxWorld(store=store, credentials=credentials)
    vercel_seed.seed(first)
    env_id = create(Api(first), "PERSISTED", "kept")
    store.close()

    reopened_store = SandboxStore(path)
    second = SandboxWorld(store=reopened_store,
                          credentials=SandboxCredentials.load_or_create(reopened_store))
    response = Api(second).get(f"/v1/projects/{PROJECT}/env/{env_id}")
    reopened_store.close()
    assert response.status_code == 200
    assert response.json()["value"] == "kept"
