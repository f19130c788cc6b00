"""Secrets over v3 raw and v4: shapes, versions, paths, errors and per-secret permissions."""

from __future__ import annotations

from starlette.applications import Starlette

from converge_sandbox.infisical.seed import secret_value
from converge_sandbox.world import SandboxWorld
from tests.sandbox.infisical.helpers import Api, grant_runtime_reader, mint_identity

REQUIRED_BY_SDK = {"id", "_id", "workspace", "environment", "version", "type", "secretKey",
                   "secretValue", "secretComment", "createdAt", "updatedAt"}


def test_v4_list_has_every_field_clients_read(api: Api, journal: str) -> None:
    body = api.get("/api/v4/secrets", params={"projectId": journal, "environment": "prod",
                                              "secretPath": "/runtime/"}).json()

    assert body["imports"] == []
    assert {s["secretKey"] for s in body["secrets"]} == {"DATABASE_URL", "SESSION_SIGNING_KEY"}
    for secret in body["secrets"]:
        assert set(secret) >= REQUIRED_BY_SDK
        assert secret["workspace"] == journal
        assert secret["secretPath"] == "/runtime"


def test_v4_create_update_delete_round_trip(api: Api, world: SandboxWorld, journal: str) -> None:
    where = {"projectId": journal, "environment": "prod", "secretPath": "/runtime"}

    created = api.post("/api/v4/secrets/API_TOKEN", json={**where, "secretValue": " v1 \n"})
    updated = api.patch("/api/v4/secrets/API_TOKEN", json={**where, "secretValue": "v2"})

    assert created.json()["secret"]["secretValue"] == "v1\n"
    assert updated.json()["secret"]["version"] == 2
    assert secret_value(world, "journal", "prod", "/runtime", "API_TOKEN") == "v2"
    deleted = api.delete("/api/v4/secrets/API_TOKEN", json=where)
    assert deleted.json()["secret"]["secretKey"] == "API_TOKEN"
    assert api.get("/api/v4/secrets/API_TOKEN", params=where).status_code == 404


def test_creating_an_existing_secret_is_400(api: Api, journal: str) -> None:
    response = api.post("/api/v3/secrets/raw/DATABASE_URL", json={
        "workspaceId": journal, "environment": "prod", "secretPath": "/runtime",
        "secretValue": "x"})
    assert response.status_code == 400
    assert response.json()["error"] == "BadRequest"


def test_rename_moves_the_secret(api: Api, journal: str) -> None:
    where = {"workspaceId": journal, "environment": "prod", "secretPath": "/ci"}
    api.patch("/api/v3/secrets/raw/DEPLOY_KEY", json={**where, "newSecretName": "SSH_DEPLOY_KEY"})

    names = {s["secretKey"] for s in api.get("/api/v3/secrets/raw", params=where)
             .json()["secrets"]}
    assert names == {"SSH_DEPLOY_KEY"}


def test_list_without_environment_is_400(api: Api, journal: str) -> None:
    response = api.get("/api/v4/secrets", params={"projectId": journal})
    assert response.status_code == 400
    assert response.json()["message"] == "Missing project id or environment"


def test_unknown_project_is_404_and_unknown_environment_lists_nothing(
    api: Api, journal: str
) -> None:
    """The list finds no folder for an unknown environment and answers an empty list,
    as the service's ``getSecrets`` does; an unknown project is a 404."""
    env = api.get("/api/v4/secrets", params={"projectId": journal, "environment": "qa"})
    project = api.get("/api/v4/secrets", params={
        "projectId": "00000000-0000-4000-8000-000000000000", "environment": "prod"})
    assert (env.status_code, env.json()["secrets"]) == (200, [])
    assert project.status_code == 404


def test_create_without_value_is_422(api: Api, journal: str) -> None:
    response = api.post("/api/v4/secrets/EMPTY", json={"projectId": journal,
                                                       "environment": "prod"})
    assert response.status_code == 422
    assert response.json()["message"][0]["path"] == ["secretValue"]


def test_hidden_values_when_view_secret_value_is_false(api: Api, journal: str) -> None:
    body = api.get("/api/v4/secrets", params={"projectId": journal, "environment": "prod",
                                              "secretPath": "/ci",
                                              "viewSecretValue": "false"}).json()
    assert [(s["secretValue"], s["secretValueHidden"]) for s in body["secrets"]] == \
        [("<hidden-by-infisical>", True)]


def test_recursive_list_reaches_sub_paths(api: Api, journal: str) -> None:
    body = api.get("/api/v4/secrets", params={"projectId": journal, "environment": "prod",
                                              "secretPath": "/", "recursive": "true"}).json()
    assert {s["secretKey"] for s in body["secrets"]} == {
        "GITHUB_OAUTH_SECRET", "DATABASE_URL", "SESSION_SIGNING_KEY", "DEPLOY_KEY"}


def test_references_expand_only_when_asked(api: Api, world: SandboxWorld, journal: str) -> None:
    where = {"projectId": journal, "environment": "prod", "secretPath": "/runtime"}
    api.post("/api/v4/secrets/DSN", json={**where, "secretValue": "${DATABASE_URL}"})

    raw = api.get("/api/v4/secrets/DSN", params=where).json()["secret"]["secretValue"]
    expanded = api.get("/api/v4/secrets/DSN", params={
        **where, "expandSecretReferences": "true"}).json()["secret"]["secretValue"]

    assert raw == "${DATABASE_URL}"
    assert expanded == secret_value(world, "journal", "prod", "/runtime", "DATABASE_URL")


def test_scoped_identity_lists_only_what_its_role_allows(
    api: Api, app: Starlette, org: str, journal: str
) -> None:
    identity_id, client_id, secret = mint_identity(api, org, "scoped")
    grant_runtime_reader(api, journal, identity_id)
    reader = Api(app, token=api.login(client_id, secret))

    runtime = reader.get("/api/v4/secrets", params={"projectId": journal,
                                                    "environment": "prod",
                                                    "secretPath": "/runtime"})
    staging = reader.get("/api/v4/secrets", params={"projectId": journal,
                                                    "environment": "staging",
                                                    "secretPath": "/runtime"})
    write = reader.post("/api/v4/secrets/NEW", json={"projectId": journal, "environment": "prod",
                                                     "secretPath": "/runtime",
                                                     "secretValue": "x"})

    assert {s["secretKey"] for s in runtime.json()["secrets"]} == {"DATABASE_URL",
                                                                   "SESSION_SIGNING_KEY"}
    # describeSecret is checked on the subject type, then the list is filtered
    assert (staging.status_code, staging.json()["secrets"]) == (200, [])
    assert write.status_code == 403
    assert write.json()["message"] == "You are not allowed to create on secrets"


def test_describe_without_read_value_masks_values(
    api: Api, app: Starlette, org: str, journal: str
) -> None:
    identity_id, client_id, secret = mint_identity(api, org, "describer")
    api.post(f"/api/v1/projects/{journal}/roles", json={
        "slug": "describe-only", "name": "Describe only",
        "permissions": [{"subject": "secrets", "action": ["describeSecret"]}]})
    api.post(f"/api/v1/projects/{journal}/identity-memberships/{identity_id}",
             json={"roles": [{"role": "describe-only"}]})
    reader = Api(app, token=api.login(client_id, secret))
    where = {"projectId": journal, "environment": "prod", "secretPath": "/ci"}

    listed = reader.get("/api/v4/secrets", params=where).json()["secrets"]
    single = reader.get("/api/v4/secrets/DEPLOY_KEY", params=where)

    assert [s["secretValueHidden"] for s in listed] == [True]
    assert single.status_code == 403
    assert (single.json()["error"], single.json()["message"]) == (
        "ForbiddenReadSecretError",
        "You do not have permission to view secret value on secret with name 'DEPLOY_KEY'")


def test_inverted_rule_carves_out_a_path(api: Api, app: Starlette, org: str,
                                         journal: str) -> None:
    identity_id, client_id, secret = mint_identity(api, org, "carved")
    api.post(f"/api/v1/projects/{journal}/roles", json={
        "slug": "all-but-ci", "name": "All but CI", "permissions": [
            {"subject": "secrets", "action": ["read"]},
            {"subject": "secrets", "action": ["read"], "inverted": True,
             "conditions": {"secretPath": {"$glob": "/ci/**"}}}]})
    api.post(f"/api/v1/projects/{journal}/identity-memberships/{identity_id}",
             json={"roles": [{"role": "all-but-ci"}]})
    reader = Api(app, token=api.login(client_id, secret))

    auth = reader.get("/api/v4/secrets/GITHUB_OAUTH_SECRET", params={
        "projectId": journal, "environment": "prod", "secretPath": "/auth"})
    ci = reader.get("/api/v4/secrets/DEPLOY_KEY", params={
        "projectId": journal, "environment": "prod", "secretPath": "/ci"})

    assert (auth.status_code, ci.status_code) == (200, 403)


def test_non_member_is_refused(api: Api, app: Starlette, org: str, journal: str) -> None:
    _, client_id, secret = mint_identity(api, org, "outsider")
    outsider = Api(app, token=api.login(client_id, secret))

    response = outsider.get("/api/v4/secrets", params={"projectId": journal,
                                                       "environment": "prod"})

    assert response.status_code == 403
    assert outsider.get("/api/v1/projects").json()["projects"] == []


def test_list_etag_changes_when_a_secret_changes(api: Api, journal: str) -> None:
    where = {"projectId": journal, "environment": "prod", "secretPath": "/runtime"}
    before = api.get("/api/v4/secrets", params=where).headers["etag"]
    same = api.get("/api/v4/secrets", params=where).headers["etag"]

    api.patch("/api/v4/secrets/DATABASE_URL", json={**where, "secretValue": "rotated"})

    assert before == same
    assert api.get("/api/v4/secrets", params=where).headers["etag"] != before
