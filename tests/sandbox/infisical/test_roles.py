"""Custom project roles: the packed-rule round trip, slugs, both path families."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette

from tests.sandbox.infisical.helpers import Api, grant_runtime_reader, mint_identity


def _create(api: Api, project: str, slug: str, permissions: list[dict[str, Any]],
            base: str = "/api/v1/projects") -> dict[str, Any]:
    response = api.post(f"{base}/{project}/roles", json={
        "slug": slug, "name": slug.title(), "description": None, "permissions": permissions})
    assert response.status_code == 200, response.text
    role: dict[str, Any] = response.json()["role"]
    return role


def test_rules_come_back_unpacked_as_the_service_reshapes_them(api: Api, journal: str) -> None:
    """A string action becomes a list and inverted is always present; condition values
    stay as sent (a string stays a string), and an empty conditions object stays too:
    the reshaping that causes naive drift, and no more."""
    role = _create(api, journal, "runtime", [
        {"subject": "secrets", "action": "read",
         "conditions": {"environment": "prod", "secretPath": {"$glob": "/runtime/**"}}},
        {"subject": "secret-folders", "action": ["read"], "conditions": {}},
    ])

    fetched = api.get(f"/api/v1/projects/{journal}/roles/slug/runtime").json()["role"]

    assert fetched["permissions"] == role["permissions"] == [
        {"subject": "secrets", "action": ["read"], "inverted": False,
         "conditions": {"environment": "prod", "secretPath": {"$glob": "/runtime/**"}}},
        {"subject": "secret-folders", "action": ["read"], "inverted": False, "conditions": {}},
    ]


def test_duplicate_slug_is_refused(api: Api, journal: str) -> None:
    _create(api, journal, "deployer", [])

    again = api.post(f"/api/v1/projects/{journal}/roles",
                     json={"slug": "deployer", "name": "Again", "permissions": []})

    assert again.status_code == 400
    assert (again.json()["error"], again.json()["message"]) == (
        "Create Role", "Project role with same slug already exists")
    slugs = [r["slug"] for r in api.get(f"/api/v1/projects/{journal}/roles").json()["roles"]]
    assert slugs.count("deployer") == 1


def test_reserved_slug_is_a_422_refinement_with_documented_message(
    api: Api, journal: str
) -> None:
    """The reserved-slug check is a zod refinement on ``slug``: a 422 issue, not a 400."""
    response = api.post(f"/api/v1/projects/{journal}/roles",
                        json={"slug": "admin", "name": "Admin", "permissions": []})
    assert response.status_code == 422
    assert response.json()["message"] == [{
        "code": "custom", "path": ["slug"],
        "message": "Please choose a different slug, the slug you have entered is reserved"}]


def test_invalid_subject_is_422(api: Api, journal: str) -> None:
    response = api.post(f"/api/v1/projects/{journal}/roles", json={
        "slug": "odd", "name": "Odd", "permissions": [{"subject": "spaceships", "action": "fly"}]})
    assert response.status_code == 422
    assert response.json()["message"][0]["path"] == ["permissions", 0, "subject"]


def test_list_has_no_permissions_and_includes_built_ins(api: Api, journal: str) -> None:
    _create(api, journal, "listed", [{"subject": "secrets", "action": ["readValue"]}])

    roles = api.get(f"/api/v1/projects/{journal}/roles").json()["roles"]

    assert {"admin", "member", "viewer", "no-access", "listed"} <= {r["slug"] for r in roles}
    assert all("permissions" not in r for r in roles)


def test_update_and_delete_through_deprecated_v2_paths(api: Api, journal: str) -> None:
    role = _create(api, journal, "legacy", [], base="/api/v2/workspace")

    updated = api.patch(f"/api/v2/workspace/{journal}/roles/{role['id']}", json={
        "description": "managed-by: converge",
        "permissions": [{"subject": "secrets", "action": ["describeSecret"]}]})
    by_id = api.get(f"/api/v1/projects/roles/{role['id']}").json()["role"]
    deleted = api.delete(f"/api/v2/workspace/{journal}/roles/{role['id']}")

    assert updated.json()["role"]["description"] == "managed-by: converge"
    assert by_id["permissions"][0]["action"] == ["describeSecret"]
    assert by_id["projectId"] == journal
    assert deleted.status_code == 200
    assert api.get(f"/api/v2/workspace/{journal}/roles/slug/legacy").status_code == 404


def test_unknown_role_slug_is_404(api: Api, journal: str) -> None:
    response = api.get(f"/api/v1/projects/{journal}/roles/slug/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"] == "NotFound"


def test_role_changes_take_effect_on_secret_access(api: Api, app: Starlette, org: str,
                                                    journal: str) -> None:
    identity_id, client_id, secret = mint_identity(api, org, "narrowed")
    grant_runtime_reader(api, journal, identity_id, slug="narrowing")
    reader = Api(app, token=api.login(client_id, secret))
    query = {"workspaceId": journal, "environment": "prod", "secretPath": "/runtime"}
    assert reader.get("/api/v3/secrets/raw/DATABASE_URL", params=query).status_code == 200

    role_id = api.get(f"/api/v1/projects/{journal}/roles/slug/narrowing").json()["role"]["id"]
    api.patch(f"/api/v1/projects/{journal}/roles/{role_id}", json={"permissions": [
        {"subject": "secrets", "action": ["describeSecret", "readValue"],
         "conditions": {"environment": "prod", "secretPath": {"$glob": "/auth/**"}}}]})

    assert reader.get("/api/v3/secrets/raw/DATABASE_URL", params=query).status_code == 403


def test_identity_without_role_permission_cannot_create_roles(
    api: Api, app: Starlette, org: str, journal: str
) -> None:
    identity_id, client_id, secret = mint_identity(api, org, "viewer-bot")
    api.post(f"/api/v1/projects/{journal}/identity-memberships/{identity_id}",
             json={"roles": [{"role": "viewer"}]})
    viewer = Api(app, token=api.login(client_id, secret))

    response = viewer.post(f"/api/v1/projects/{journal}/roles",
                           json={"slug": "sneaky", "name": "Sneaky", "permissions": []})

    assert response.status_code == 403
    assert response.json()["message"] == "You are not allowed to create on role"
    assert viewer.get(f"/api/v1/projects/{journal}/roles").status_code == 200
