"""Organisation machine identities: shapes, metadata, delete protection, listing, access."""

from __future__ import annotations

from starlette.applications import Starlette

from converge_sandbox.infisical.seed import operator_identity_id
from converge_sandbox.world import SandboxWorld
from tests.sandbox.infisical.helpers import Api, mint_identity

IDENTITIES = "/api/v1/identities"


def test_create_returns_identity_row_and_get_returns_membership_row(api: Api, org: str) -> None:
    created = api.post(IDENTITIES, json={
        "name": "ci@github-prod", "organizationId": org, "role": "member",
        "metadata": [{"key": "managed-by", "value": "converge"}],
    }).json()["identity"]

    fetched = api.get(f"{IDENTITIES}/{created['id']}").json()["identity"]

    assert created["name"] == "ci@github-prod"
    assert created["authMethods"] == []
    assert fetched["id"] != created["id"]
    assert fetched["identityId"] == created["id"]
    assert fetched["identity"]["id"] == created["id"]
    assert fetched["role"] == "member"
    assert [(m["key"], m["value"]) for m in fetched["metadata"]] == [("managed-by", "converge")]


def test_update_replaces_metadata_and_renames(api: Api, org: str) -> None:
    identity_id = api.post(IDENTITIES, json={
        "name": "old", "organizationId": org,
        "metadata": [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}],
    }).json()["identity"]["id"]

    updated = api.patch(f"{IDENTITIES}/{identity_id}", json={
        "name": "new", "metadata": [{"key": "managed-by", "value": "converge"}]})

    assert "authMethods" not in updated.json()["identity"]
    fetched = api.get(f"{IDENTITIES}/{identity_id}").json()["identity"]
    assert fetched["identity"]["name"] == "new"
    assert [m["key"] for m in fetched["metadata"]] == ["managed-by"]


def test_delete_removes_identity_and_its_memberships(api: Api, org: str, journal: str) -> None:
    identity_id, _, _ = mint_identity(api, org, "doomed")
    api.post(f"/api/v1/projects/{journal}/identity-memberships/{identity_id}",
             json={"roles": [{"role": "viewer"}]})

    deleted = api.delete(f"{IDENTITIES}/{identity_id}")

    assert deleted.json()["identity"]["id"] == identity_id
    assert api.get(f"{IDENTITIES}/{identity_id}").status_code == 404
    members = api.get(f"/api/v1/projects/{journal}/identity-memberships").json()
    assert identity_id not in {m["identityId"] for m in members["identityMemberships"]}


def test_delete_protection_refuses_delete(api: Api, org: str) -> None:
    identity_id = api.post(IDENTITIES, json={"name": "kept", "organizationId": org,
                                             "hasDeleteProtection": True}).json()["identity"]["id"]

    refused = api.delete(f"{IDENTITIES}/{identity_id}")

    assert refused.status_code == 400
    assert api.get(f"{IDENTITIES}/{identity_id}").status_code == 200


def test_missing_identity_is_404_with_vendor_body(api: Api) -> None:
    response = api.get(f"{IDENTITIES}/00000000-0000-4000-8000-000000000000")

    body = response.json()
    assert response.status_code == 404
    assert set(body) == {"reqId", "statusCode", "message", "error"}
    assert (body["statusCode"], body["error"]) == (404, "NotFound")


def test_create_without_name_is_422_with_zod_issues(api: Api, org: str) -> None:
    response = api.post(IDENTITIES, json={"organizationId": org, "hasDeleteProtection": "yes"})

    body = response.json()
    assert response.status_code == 422
    assert body["error"] == "ValidationFailure"
    assert {tuple(i["path"]) for i in body["message"]} == {("name",), ("hasDeleteProtection",)}
    assert all(i["code"] == "invalid_type" for i in body["message"])


def test_list_returns_every_identity_of_the_org_without_metadata(
    api: Api, org: str, world: SandboxWorld
) -> None:
    mint_identity(api, org, "listed")

    body = api.get(IDENTITIES, params={"orgId": org}).json()

    names = {row["identity"]["name"] for row in body["identities"]}
    assert {"listed", "converge-operator"} <= names
    assert body["totalCount"] == len(body["identities"])
    assert all("metadata" not in row for row in body["identities"])
    assert operator_identity_id(world) in {row["identityId"] for row in body["identities"]}


def test_paginated_list_honours_offset_limit_and_search(api: Api, org: str) -> None:
    for name in ("page-a", "page-b", "page-c"):
        api.post(IDENTITIES, json={"name": name, "organizationId": org})

    page = api.get(f"/api/v2/organizations/{org}/identity-memberships",
                   params={"offset": 1, "limit": 1, "search": "page-"}).json()

    assert page["totalCount"] == 3
    assert [m["identity"]["name"] for m in page["identityMemberships"]] == ["page-b"]


def test_no_access_identity_cannot_create_identities(api: Api, app: Starlette, org: str) -> None:
    _, client_id, secret = mint_identity(api, org, "no-access-bot")
    token = api.login(client_id, secret)

    response = Api(app, token=token).post(IDENTITIES, json={"name": "x", "organizationId": org})

    assert response.status_code == 403
    assert response.json()["error"] == "PermissionDenied"
    assert response.json()["message"] == "You are not allowed to create on identity"


def test_who_am_i_names_the_organisation(api: Api, org: str) -> None:
    details = api.get("/api/v1/identities/details").json()["identityDetails"]
    assert details["organization"]["id"] == org
