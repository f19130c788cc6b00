"""Folders, as raw requests: the v1 (``workspaceId``) and v2 (``projectId``) routes, the
service's name rule and messages, nested folders, and secrets needing their folder."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette

from converge_sandbox.infisical.seed import create_service_token, secret_value
from converge_sandbox.world import SandboxWorld
from tests.sandbox.infisical.helpers import Api, mint_identity

V2 = "/api/v2/folders"
V1 = "/api/v1/folders"


def _create(api: Api, project: str, name: str, path: str = "/", env: str = "prod"
            ) -> dict[str, Any]:
    response = api.post(V2, json={"projectId": project, "environment": env, "name": name,
                                  "path": path})
    assert response.status_code == 200, response.text
    folder: dict[str, Any] = response.json()["folder"]
    return folder


def _names(api: Api, project: str, path: str, env: str = "prod", **extra: str) -> list[str]:
    response = api.get(V2, params={"projectId": project, "environment": env, "path": path,
                                   **extra})
    assert response.status_code == 200, response.text
    return [f["name"] for f in response.json()["folders"]]


def test_seeded_secrets_live_in_seeded_folders(api: Api, journal: str) -> None:
    assert _names(api, journal, "/") == ["auth", "ci", "runtime"]
    assert _names(api, journal, "/", env="staging") == []


def test_create_nested_folders_creating_missing_parents(api: Api, journal: str) -> None:
    created = _create(api, journal, "payments", path="/apps/billing")

    assert created["path"] == "/apps/billing/payments"
    assert set(created) >= {"id", "name", "envId", "version", "parentId", "isReserved",
                            "createdAt", "updatedAt"}
    assert "apps" in _names(api, journal, "/")
    assert _names(api, journal, "/apps") == ["billing"]
    assert _names(api, journal, "/apps/billing") == ["payments"]
    deep = api.get(V2, params={"projectId": journal, "environment": "prod", "path": "/apps",
                               "recursive": "true"}).json()["folders"]
    assert sorted(f["relativePath"] for f in deep) == ["/billing", "/billing/payments"]


def test_existing_folder_is_400_with_the_services_message(api: Api, journal: str) -> None:
    response = api.post(V2, json={"projectId": journal, "environment": "prod",
                                  "name": "runtime", "path": "/"})
    assert response.status_code == 400
    assert (response.json()["error"], response.json()["message"]) == (
        "BadRequest", "Folder with name 'runtime' already exists in path '/'")


def test_invalid_folder_name_is_422(api: Api, journal: str) -> None:
    response = api.post(V2, json={"projectId": journal, "environment": "prod",
                                  "name": "has space", "path": "/"})
    assert response.status_code == 422
    assert response.json()["message"] == [{
        "code": "custom", "path": ["name"],
        "message": "Invalid folder name. Only alphanumeric characters, dashes, and "
                   "underscores are allowed."}]


def test_unknown_environment_is_404(api: Api, journal: str) -> None:
    response = api.post(V2, json={"projectId": journal, "environment": "qa", "name": "x"})
    assert response.status_code == 404
    assert response.json()["message"] == \
        f"Environment with slug 'qa' in project with ID '{journal}' not found"


def test_listing_a_missing_path_is_empty(api: Api, journal: str) -> None:
    assert _names(api, journal, "/nowhere") == []


def test_v1_routes_take_workspace_id(api: Api, journal: str) -> None:
    created = api.post(V1, json={"workspaceId": journal, "environment": "dev", "name": "web"})
    listed = api.get(V1, params={"workspaceId": journal, "environment": "dev"})

    assert created.status_code == 200
    assert "path" not in created.json()["folder"]
    assert [f["name"] for f in listed.json()["folders"]] == ["web"]


def test_get_by_id_rename_and_delete(api: Api, journal: str) -> None:
    folder = _create(api, journal, "old", path="/")
    api.post("/api/v3/secrets/raw/INSIDE", json={"workspaceId": journal, "environment": "prod",
                                                 "secretPath": "/old", "secretValue": "v"})

    fetched = api.get(f"{V2}/{folder['id']}").json()["folder"]
    renamed = api.patch(f"{V2}/{folder['id']}", json={
        "projectId": journal, "environment": "prod", "name": "new", "path": "/"})
    moved = api.get("/api/v3/secrets/raw/INSIDE", params={
        "workspaceId": journal, "environment": "prod", "secretPath": "/new"})
    refused = api.delete(f"{V2}/new", json={"projectId": journal, "environment": "prod",
                                            "path": "/"})
    forced = api.delete(f"{V2}/new", json={"projectId": journal, "environment": "prod",
                                           "path": "/", "forceDelete": True})

    assert (fetched["path"], fetched["environment"]["envSlug"]) == ("/old", "prod")
    assert (renamed.status_code, renamed.json()["folder"]["path"]) == (200, "/new")
    assert moved.json()["secret"]["secretValue"] == "v"
    assert (refused.status_code, refused.json()["error"]) == (400, "deleteFolder")
    assert refused.json()["message"] == ('Cannot delete folder "new" because it contains '
                                         "resources. Use forceDelete=true to delete it "
                                         "forcefully.")
    assert forced.status_code == 200
    assert "new" not in _names(api, journal, "/")


def test_update_under_a_missing_parent_names_the_failing_operation(
    api: Api, journal: str
) -> None:
    response = api.patch(f"{V2}/whatever", json={"projectId": journal, "environment": "prod",
                                                 "name": "x", "path": "/missing"})
    assert response.status_code == 404
    assert (response.json()["error"], response.json()["message"]) == (
        "UpdateFolder",
        "Folder with path '/missing' in environment with slug 'prod' not found")


def test_a_secret_needs_an_existing_folder(api: Api, world: SandboxWorld, journal: str) -> None:
    """The service answers 404 naming the path and environment; after the folder is
    created, the same request succeeds."""
    body = {"workspaceId": journal, "environment": "prod", "secretPath": "/payments",
            "secretValue": "v1"}

    refused = api.post("/api/v3/secrets/raw/STRIPE_KEY", json=body)
    _create(api, journal, "payments")
    created = api.post("/api/v3/secrets/raw/STRIPE_KEY", json=body)

    assert refused.status_code == 404
    assert (refused.json()["error"], refused.json()["message"]) == (
        "CreateSecret",
        "Folder with path '/payments' in environment with slug 'prod' not found")
    assert created.status_code == 200
    assert secret_value(world, "journal", "prod", "/payments", "STRIPE_KEY") == "v1"


def test_reading_updating_and_deleting_in_a_missing_folder_are_404(
    api: Api, journal: str
) -> None:
    where = {"workspaceId": journal, "environment": "prod", "secretPath": "/gone"}
    answers = {
        "GetSecretByName": api.get("/api/v3/secrets/raw/X", params=where),
        "UpdateSecret": api.patch("/api/v3/secrets/raw/X", json={**where, "secretValue": "v"}),
        "DeleteSecret": api.delete("/api/v3/secrets/raw/X", json=where),
    }
    assert {name: (r.status_code, r.json()["error"]) for name, r in answers.items()} == {
        name: (404, name) for name in answers}


def test_creating_a_folder_needs_create_on_secret_folders(
    api: Api, app: Starlette, org: str, journal: str
) -> None:
    identity_id, client_id, secret = mint_identity(api, org, "folder-reader")
    api.post(f"/api/v1/projects/{journal}/identity-memberships/{identity_id}",
             json={"roles": [{"role": "viewer"}]})
    viewer = Api(app, token=api.login(client_id, secret))

    listed = viewer.get(V2, params={"projectId": journal, "environment": "prod", "path": "/"})
    refused = viewer.post(V2, json={"projectId": journal, "environment": "prod", "name": "x"})

    assert listed.status_code == 200
    assert (refused.status_code, refused.json()["error"]) == (403, "PermissionDenied")
    assert refused.json()["message"] == "You are not allowed to create on secret-folders"


def test_a_service_token_manages_folders_within_its_scope(
    app: Starlette, world: SandboxWorld, journal: str
) -> None:
    token = create_service_token(world, "journal", permissions=["read", "write"],
                                 scopes=[{"environment": "dev", "secretPath": "/**"}])
    client = Api(app, token=token)

    inside = client.post(V2, json={"projectId": journal, "environment": "dev", "name": "svc"})
    outside = client.post(V2, json={"projectId": journal, "environment": "prod", "name": "svc"})

    assert inside.status_code == 200
    assert outside.status_code == 403
