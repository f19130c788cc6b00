"""Project identity memberships: custom-role mapping, replace-on-update, duplicates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.applications import Starlette

from converge_sandbox.world import SandboxWorld
from tests.sandbox.infisical.helpers import Api, grant_runtime_reader, mint_identity


def test_custom_role_is_returned_as_custom_with_slug(api: Api, org: str, journal: str) -> None:
    identity_id, _, _ = mint_identity(api, org, "bound")
    grant_runtime_reader(api, journal, identity_id, slug="runtime")

    membership = api.get(
        f"/api/v1/projects/{journal}/identity-memberships/{identity_id}").json()

    roles = membership["identityMembership"]["roles"]
    assert [(r["role"], r["customRoleSlug"]) for r in roles] == [("custom", "runtime")]
    assert membership["identityMembership"]["project"]["id"] == journal
    assert membership["identityMembership"]["identity"]["authMethods"] == ["universal-auth"]


def test_update_replaces_the_whole_role_set(api: Api, org: str, journal: str) -> None:
    identity_id, _, _ = mint_identity(api, org, "rebound")
    grant_runtime_reader(api, journal, identity_id, slug="runtime")

    updated = api.patch(f"/api/v2/workspace/{journal}/identity-memberships/{identity_id}",
                        json={"roles": [{"role": "viewer"}]})

    assert [r["role"] for r in updated.json()["roles"]] == ["viewer"]
    fetched = api.get(f"/api/v1/projects/{journal}/identity-memberships/{identity_id}").json()
    assert [r["role"] for r in fetched["identityMembership"]["roles"]] == ["viewer"]


def test_adding_an_existing_member_is_refused(api: Api, org: str, journal: str) -> None:
    identity_id, _, _ = mint_identity(api, org, "twice")
    path = f"/api/v1/projects/{journal}/identity-memberships/{identity_id}"
    assert api.post(path, json={"role": "viewer"}).status_code == 200

    again = api.post(path, json={"roles": [{"role": "viewer"}]})

    assert again.status_code == 400
    assert again.json()["error"] == "BadRequest"


def test_membership_needs_role_or_roles(api: Api, org: str, journal: str) -> None:
    identity_id, _, _ = mint_identity(api, org, "roleless")
    response = api.post(f"/api/v1/projects/{journal}/identity-memberships/{identity_id}",
                        json={})
    assert response.status_code == 400
    assert response.json()["message"] == "You must provide either role or roles field"


def test_unknown_custom_role_is_404(api: Api, org: str, journal: str) -> None:
    identity_id, _, _ = mint_identity(api, org, "unknown-role")
    response = api.post(f"/api/v1/projects/{journal}/identity-memberships/{identity_id}",
                        json={"roles": [{"role": "ghost"}]})
    assert response.status_code == 404


def test_list_get_by_id_and_delete(api: Api, org: str, journal: str) -> None:
    identity_id, _, _ = mint_identity(api, org, "listed-member")
    created = api.post(f"/api/v1/projects/{journal}/identity-memberships/{identity_id}",
                       json={"roles": [{"role": "member"}]}).json()["identityMembership"]

    listed = api.get(f"/api/v1/projects/{journal}/identity-memberships").json()
    by_id = api.get(f"/api/v2/workspace/identity-memberships/{created['id']}").json()
    deleted = api.delete(f"/api/v1/projects/{journal}/identity-memberships/{identity_id}")

    assert identity_id in {m["identityId"] for m in listed["identityMemberships"]}
    assert listed["totalCount"] == len(listed["identityMemberships"])
    assert by_id["identityMembership"]["identityId"] == identity_id
    assert deleted.json()["identityMembership"]["id"] == created["id"]
    gone = api.get(f"/api/v1/projects/{journal}/identity-memberships/{identity_id}")
    assert gone.status_code == 404


def test_expired_temporary_role_grants_nothing(
    api: Api, app: Starlette, world: SandboxWorld, org: str, journal: str
) -> None:
    identity_id, client_id, secret = mint_identity(api, org, "temporary")
    start = (datetime.now(tz=UTC) - timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    api.post(f"/api/v1/projects/{journal}/identity-memberships/{identity_id}", json={"roles": [
        {"role": "viewer", "isTemporary": True, "temporaryMode": "relative",
         "temporaryRange": "1h", "temporaryAccessStartTime": start}]})
    reader = Api(app, token=api.login(client_id, secret))

    response = reader.get("/api/v3/secrets/raw", params={
        "workspaceId": journal, "environment": "prod", "secretPath": "/runtime"})

    assert response.status_code == 403


def test_renamed_custom_role_shows_its_new_slug(api: Api, org: str, journal: str) -> None:
    identity_id, _, _ = mint_identity(api, org, "follows-rename")
    grant_runtime_reader(api, journal, identity_id, slug="before")
    role_id = api.get(f"/api/v1/projects/{journal}/roles/slug/before").json()["role"]["id"]

    api.patch(f"/api/v1/projects/{journal}/roles/{role_id}", json={"slug": "after"})

    roles = api.get(f"/api/v1/projects/{journal}/identity-memberships/{identity_id}"
                    ).json()["identityMembership"]["roles"]
    assert [r["customRoleSlug"] for r in roles] == ["after"]
