"""Role permission rules validated per subject and action as the service's zod schema
does, as raw requests: the 422 bodies, what is silently dropped, the 400 combination
check, and that a dropped field never comes back as drift."""

from __future__ import annotations

from typing import Any

import httpx

from tests.sandbox.infisical.helpers import Api

SECRET_ACTIONS = ["read", "describeSecret", "readValue", "create", "edit", "delete"]


def _post(api: Api, project: str, permissions: Any, slug: str = "rules") -> httpx.Response:
    return api.post(f"/api/v1/projects/{project}/roles",
                    json={"slug": slug, "name": "Rules", "permissions": permissions})


def _joined(options: list[str]) -> str:
    return " | ".join(f"'{o}'" for o in options)


def test_unknown_action_is_422_with_zods_union_issue(api: Api, journal: str) -> None:
    response = _post(api, journal, [{"subject": "secrets", "action": ["fly"]}])

    assert response.status_code == 422
    body = response.json()
    assert (body["error"], body["statusCode"]) == ("ValidationFailure", 422)
    path = ["permissions", 0, "action"]
    assert body["message"] == [{
        "code": "invalid_union",
        "unionErrors": [
            {"issues": [{"code": "invalid_type", "expected": _joined(SECRET_ACTIONS),
                         "received": "array", "path": path,
                         "message": f"Expected {_joined(SECRET_ACTIONS)}, received array"}],
             "name": "ZodError"},
            {"issues": [{"received": "fly", "code": "invalid_enum_value",
                         "options": SECRET_ACTIONS, "path": [*path, 0],
                         "message": f"Invalid enum value. Expected {_joined(SECRET_ACTIONS)}, "
                                    "received 'fly'"}],
             "name": "ZodError"},
        ],
        "path": path, "message": "Invalid input"}]


def test_action_valid_elsewhere_is_refused_on_a_subject_that_lacks_it(
    api: Api, journal: str
) -> None:
    """``read`` is a fine action, but not on ``kms`` (edit only) or ``dynamic-secrets``."""
    kms = _post(api, journal, [{"subject": "kms", "action": "read"}])
    dynamic = _post(api, journal, [{"subject": "dynamic-secrets", "action": ["read"]}],
                    slug="dyn")
    assert (kms.status_code, dynamic.status_code) == (422, 422)
    assert kms.json()["message"][0]["path"] == ["permissions", 0, "action"]


def test_unknown_subject_is_an_invalid_discriminator(api: Api, journal: str) -> None:
    response = _post(api, journal, [{"subject": "spaceships", "action": "fly"}])
    [issue] = response.json()["message"]
    assert response.status_code == 422
    assert (issue["code"], issue["path"]) == ("invalid_union_discriminator",
                                              ["permissions", 0, "subject"])
    assert issue["message"].startswith("Invalid discriminator value. Expected 'secrets' | ")
    assert "workspace" in issue["options"] and "project" not in issue["options"]


def test_empty_action_list_is_too_small(api: Api, journal: str) -> None:
    response = _post(api, journal, [{"subject": "role", "action": []}])
    assert response.json()["message"] == [{
        "code": "too_small", "minimum": 1, "type": "array", "inclusive": True, "exact": False,
        "path": ["permissions", 0, "action"],
        "message": "Array must contain at least 1 element(s)"}]


def test_conditions_and_inversion_are_dropped_where_the_subject_takes_none(
    api: Api, journal: str
) -> None:
    """``role`` takes neither: the service keeps the rule without them (so it grants what
    was meant to be denied), and reads never show them, so there is no drift to see."""
    created = _post(api, journal, [
        {"subject": "role", "action": ["read"], "inverted": True,
         "conditions": {"environment": "prod"}},
    ])
    fetched = api.get(f"/api/v1/projects/{journal}/roles/slug/rules").json()["role"]

    assert created.status_code == 200
    assert created.json()["role"]["permissions"] == fetched["permissions"] == [
        {"subject": "role", "action": ["read"], "inverted": False}]


def test_unknown_condition_keys_and_operators_are_dropped(api: Api, journal: str) -> None:
    created = _post(api, journal, [{
        "subject": "secret-folders", "action": ["read"],
        "conditions": {"environment": {"$glob": "pr*", "$eq": "prod"}, "colour": "blue"}}])
    assert created.json()["role"]["permissions"] == [{
        "subject": "secret-folders", "action": ["read"], "inverted": False,
        "conditions": {"environment": {"$eq": "prod"}}}]


def test_relative_secret_path_condition_is_422(api: Api, journal: str) -> None:
    response = _post(api, journal, [{"subject": "secrets", "action": ["readValue"],
                                     "conditions": {"secretPath": "runtime"}}])
    assert response.status_code == 422
    assert response.json()["message"] == [{
        "code": "custom", "message": "Invalid Secret Path; it must start with a '/'",
        "path": ["permissions", 0, "conditions", "secretPath"]}]


def test_legacy_read_with_read_value_is_the_services_400(api: Api, journal: str) -> None:
    response = _post(api, journal, [{"subject": "secrets", "action": ["read", "readValue"]}])
    assert response.status_code == 400
    assert response.json()["message"] == (
        "You have selected Read, and Read Value. You cannot select Read Value or Describe "
        "Secret if you have selected Read. The Read permission is a legacy action which has "
        "been replaced by Describe Secret and Read Value.")


def test_update_validates_the_same_way(api: Api, journal: str) -> None:
    role = _post(api, journal, [{"subject": "secrets", "action": ["readValue"]}]).json()["role"]
    response = api.patch(f"/api/v1/projects/{journal}/roles/{role['id']}",
                         json={"permissions": [{"subject": "secrets", "action": "fly"}]})
    kept = api.get(f"/api/v1/projects/{journal}/roles/slug/rules").json()["role"]
    assert response.status_code == 422
    assert kept["permissions"][0]["action"] == ["readValue"]
