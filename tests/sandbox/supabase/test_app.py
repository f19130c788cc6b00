"""Emulator basics: the access token, projects, 404 bodies, API keys and their JWTs."""

from __future__ import annotations

import hashlib

import httpx
import jwt
import pytest

from converge_sandbox.supabase.app import create_app
from converge_sandbox.world import SandboxWorld

from .conftest import AUTH_EU, JOURNAL

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("header", [None, "Bearer sbp_" + "0" * 40, "Token abc"])
async def test_wrong_or_missing_token_gets_the_vendor_401(
    world: SandboxWorld, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    transport = httpx.ASGITransport(app=create_app(world))
    async with httpx.AsyncClient(transport=transport, base_url="http://s") as http:
        response = await http.get("/v1/projects", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}


async def test_projects_list_holds_the_seeded_projects(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/projects")
    assert response.status_code == 200
    by_ref = {p["ref"]: p for p in response.json()}
    assert set(by_ref) == {JOURNAL, AUTH_EU, "authsvcuseastqzvtkwm"}
    eu = by_ref[AUTH_EU]
    assert eu["region"] == "eu-west-1"
    assert eu["organization_slug"] == "acme" and eu["status"] == "ACTIVE_HEALTHY"
    assert eu["id"] == AUTH_EU
    assert set(eu["database"]) == {"host", "version", "postgres_engine", "release_channel"}
    assert "jwt_secret" not in eu


async def test_unknown_project_is_404_with_message(client: httpx.AsyncClient) -> None:
    for path in ("", "/config/auth", "/api-keys", "/postgrest"):
        response = await client.get(f"/v1/projects/abcdefghijklmnopqrst{path}")
        assert response.status_code == 404
        assert response.json() == {"message": "Project not found"}


async def test_unknown_route_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post(f"/v1/projects/{JOURNAL}/network-bans/retrieve")
    assert response.status_code == 404
    assert response.json()["message"].startswith("Cannot POST")


async def test_legacy_keys_are_hs256_jwts_of_the_project(
    client: httpx.AsyncClient, world: SandboxWorld
) -> None:
    keys = (await client.get(f"/v1/projects/{AUTH_EU}/api-keys")).json()
    project = world.store.get("supabase", "project", AUTH_EU)
    assert project is not None
    legacy = {k["name"]: k["api_key"] for k in keys if k["type"] == "legacy"}
    assert set(legacy) == {"anon", "service_role"}
    for role, token in legacy.items():
        assert jwt.get_unverified_header(token)["alg"] == "HS256"
        claims = jwt.decode(token, project["jwt_secret"], algorithms=["HS256"])
        assert claims["role"] == role and claims["ref"] == AUTH_EU
        assert claims["iss"] == "supabase" and claims["exp"] > claims["iat"]


async def test_secret_keys_are_redacted_unless_revealed(client: httpx.AsyncClient) -> None:
    url = f"/v1/projects/{JOURNAL}/api-keys"
    hidden = [k for k in (await client.get(url)).json() if k["type"] == "secret"]
    shown = [k for k in (await client.get(url, params={"reveal": "true"})).json()
             if k["type"] == "secret"]
    assert hidden and all(k["api_key"] is None and k["prefix"] for k in hidden)
    assert all(k["api_key"].startswith(k["prefix"]) for k in shown)


async def test_created_key_is_listed_and_deleted_key_is_gone(client: httpx.AsyncClient) -> None:
    url = f"/v1/projects/{JOURNAL}/api-keys"
    created = await client.post(url, json={"type": "secret", "name": "ci_deploy"})
    assert created.status_code == 201
    key = created.json()
    assert key["secret_jwt_template"] == {"role": "service_role"} and key["api_key"] is None
    assert key["id"] in {k["id"] for k in (await client.get(url)).json()}
    deleted = await client.delete(f"{url}/{key['id']}")
    assert deleted.status_code == 200
    assert key["id"] not in {k["id"] for k in (await client.get(url)).json()}
    assert (await client.get(f"{url}/{key['id']}")).status_code == 404


async def test_key_name_is_validated(client: httpx.AsyncClient) -> None:
    response = await client.post(f"/v1/projects/{JOURNAL}/api-keys",
                                 json={"type": "secret", "name": "Bad-Name"})
    assert response.status_code == 400


async def test_postgrest_config_round_trip(client: httpx.AsyncClient) -> None:
    url = f"/v1/projects/{JOURNAL}/postgrest"
    before = (await client.get(url)).json()
    assert before["db_schema"] == "public,graphql_public" and before["jwt_secret"]
    patched = await client.patch(url, json={"max_rows": 500, "db_schema": "public"})
    assert patched.status_code == 200 and "jwt_secret" not in patched.json()
    after = (await client.get(url)).json()
    assert (after["max_rows"], after["db_schema"]) == (500, "public")
    assert (await client.patch(url, json={"max_rows": -1})).status_code == 400


async def test_v2_config_reflects_v1_writes(client: httpx.AsyncClient) -> None:
    await client.patch(f"/v1/projects/{JOURNAL}/config/auth", json={"jwt_exp": 900})
    await client.patch(f"/v1/projects/{JOURNAL}/config/storage",
                       json={"features": {"vectorBuckets": {"enabled": True, "maxBuckets": 3}}})
    attributes = (await client.get(f"/v2/projects/{JOURNAL}/config")).json()["data"]["attributes"]
    assert attributes["auth"]["jwt_exp"] == 900
    vector = attributes["storage"]["features"]["vector_buckets"]
    assert vector["enabled"] is True and vector["max_buckets"] == 3


async def test_unsupported_method_is_404_like_an_unknown_route(
    client: httpx.AsyncClient,
) -> None:
    response = await client.put(f"/v1/projects/{JOURNAL}/config/auth", json={})
    assert response.status_code == 404
    assert response.json()["message"] == f"Cannot PUT /v1/projects/{JOURNAL}/config/auth"


async def test_function_secrets_list_digests_not_values(client: httpx.AsyncClient) -> None:
    url = f"/v1/projects/{JOURNAL}/secrets"
    created = await client.post(url, json=[{"name": "FOO", "value": "bar"},
                                           {"name": "BAZ", "value": "qux"}])
    assert created.status_code == 201
    listed = {s["name"]: s["value"] for s in (await client.get(url)).json()}
    assert listed == {"FOO": hashlib.sha256(b"bar").hexdigest(),
                      "BAZ": hashlib.sha256(b"qux").hexdigest()}
    assert (await client.request("DELETE", url, json=["FOO"])).status_code == 200
    assert [s["name"] for s in (await client.get(url)).json()] == ["BAZ"]


async def test_health_reports_the_requested_services(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/v1/projects/{JOURNAL}/health",
                                params={"services": "auth,rest"})
    assert [(s["name"], s["status"]) for s in response.json()] == [
        ("auth", "ACTIVE_HEALTHY"), ("rest", "ACTIVE_HEALTHY")]
    assert (await client.get(f"/v1/projects/{JOURNAL}/health")).status_code == 400


async def test_rename_returns_the_ref_response(client: httpx.AsyncClient) -> None:
    response = await client.patch(f"/v1/projects/{JOURNAL}", json={"name": "journal-prod"})
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body["id"], int) and body["ref"] == JOURNAL
    assert (await client.get(f"/v1/projects/{JOURNAL}")).json()["name"] == "journal-prod"
