"""Organizations and project creation, by raw request: ``GET /v1/organizations`` and
``POST /v1/projects`` (what ``supabase orgs list``/``projects create`` and the Terraform
provider's ``supabase_project`` call)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest

from converge_sandbox.world import SandboxWorld

pytestmark = pytest.mark.anyio
BODY = {"db_pass": "correct-horse-battery-staple", "name": "acme-prod",
        "organization_slug": "acme", "region": "eu-west-2"}


async def test_organizations_lists_the_seeded_organization(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/organizations")
    assert response.status_code == 200
    assert response.json() == [{"id": "acme", "slug": "acme", "name": "Acme"}]


async def wait_healthy(client: httpx.AsyncClient, ref: str) -> dict[str, Any]:
    """Poll as the Terraform provider does until the project is ACTIVE_HEALTHY."""
    for _ in range(200):
        project: dict[str, Any] = (await client.get(f"/v1/projects/{ref}")).json()
        if project["status"] == "ACTIVE_HEALTHY":
            return project
        assert project["status"] == "COMING_UP"
        await asyncio.sleep(0.05)
    raise AssertionError(f"project {ref} never became healthy")


async def test_create_project_answers_201_then_provisions_its_database(
    client: httpx.AsyncClient, world: SandboxWorld
) -> None:
    response = await client.post("/v1/projects", json=BODY)
    assert response.status_code == 201
    created = response.json()
    assert set(created) == {"id", "ref", "organization_id", "organization_slug", "name",
                            "region", "created_at", "status"}
    ref = created["ref"]
    assert re.fullmatch(r"[a-z]{20}", ref) and created["id"] == ref
    assert (created["name"], created["region"], created["status"]) == (
        "acme-prod", "eu-west-2", "UNKNOWN")
    project = await wait_healthy(client, ref)
    assert project["organization_slug"] == "acme"
    assert project["database"]["host"] == f"db.{ref}.supabase.co"
    assert ref in {p["ref"] for p in (await client.get("/v1/projects")).json()}
    # Its own database, laid out like every project's, reachable through the query endpoint.
    rows = await client.post(f"/v1/projects/{ref}/database/query", json={
        "query": "select current_database() as db, current_user as who, "
                 "to_regclass('auth.users') is not null as auth"})
    assert rows.status_code == 201
    assert rows.json() == [{"db": ref, "who": "postgres", "auth": True}]
    # And the settings and keys a new project has; the password is not kept anywhere.
    assert (await client.get(f"/v1/projects/{ref}/config/auth")).json()["jwt_exp"] == 3600
    keys = (await client.get(f"/v1/projects/{ref}/api-keys")).json()
    assert {k["name"] for k in keys} >= {"anon", "service_role"}
    stored = [doc for kind in ("project", "auth_config", "postgrest")
              for doc in world.store.list("supabase", kind)]
    assert BODY["db_pass"] not in repr(stored)
    health = (await client.get(f"/v1/projects/{ref}/health",
                               params={"services": "db,rest"})).json()
    assert [s["status"] for s in health] == ["ACTIVE_HEALTHY", "ACTIVE_HEALTHY"]


async def test_region_selection_as_the_terraform_provider_sends_it(
    client: httpx.AsyncClient,
) -> None:
    body = {k: v for k, v in BODY.items() if k != "region"}
    specific = await client.post("/v1/projects", json={
        **body, "region_selection": {"type": "specific", "code": "ap-south-1"}})
    assert specific.status_code == 201 and specific.json()["region"] == "ap-south-1"
    group = await client.post("/v1/projects", json={
        **body, "region_selection": {"type": "smartGroup", "code": "emea"}})
    assert group.status_code == 201 and group.json()["region"].startswith("eu-")
    for created in (specific, group):
        await wait_healthy(client, created.json()["ref"])


@pytest.mark.parametrize(("change", "problem"), [
    ({"plan": "enterprise"},
     "plan: Invalid enum value. Expected 'free' | 'pro', received 'enterprise'"),
    ({"database_password": "x"}, "Unrecognized key(s) in object: 'database_password'"),
    ({"name": None}, "name: Expected string, received null"),
    ({"name": "x" * 257}, "name: String must contain at most 256 character(s)"),
    ({"organization_slug": "no spaces"}, "organization_slug: Invalid"),
    ({"region": "mars-north-1"},
     "region: Invalid enum value. Expected 'us-east-1' | 'us-east-2' | 'us-west-1' | "
     "'us-west-2' | 'ap-east-1' | 'ap-southeast-1' | 'ap-northeast-1' | 'ap-northeast-2' | "
     "'ap-southeast-2' | 'eu-west-1' | 'eu-west-2' | 'eu-west-3' | 'eu-north-1' | "
     "'eu-central-1' | 'eu-central-2' | 'ca-central-1' | 'ap-south-1' | 'sa-east-1', "
     "received 'mars-north-1'"),
    ({"region_selection": {"type": "specific", "code": "us-east-1"}},
     "Only one of region or region_selection can be specified"),
    ({"desired_instance_size": "huge"}, None),
])
async def test_create_project_refuses_invalid_bodies(
    client: httpx.AsyncClient, change: dict[str, Any], problem: str | None
) -> None:
    before = len((await client.get("/v1/projects")).json())
    response = await client.post("/v1/projects", json={**BODY, **change})
    assert response.status_code == 400
    if problem is not None:
        assert response.json() == {"message": problem}
    assert len((await client.get("/v1/projects")).json()) == before


@pytest.mark.parametrize("missing", ["db_pass", "name", "organization_slug"])
async def test_create_project_requires_its_fields(
    client: httpx.AsyncClient, missing: str
) -> None:
    body = {k: v for k, v in BODY.items() if k != missing}
    response = await client.post("/v1/projects", json=body)
    assert response.status_code == 400 and response.json() == {"message": f"{missing}: Required"}


async def test_create_project_in_someone_elses_organization_is_forbidden(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/v1/projects", json={**BODY, "organization_slug": "other"})
    assert response.status_code == 403
    assert "necessary privileges" in response.json()["message"]


async def test_organizations_and_create_need_the_access_token(world: SandboxWorld) -> None:
    from converge_sandbox.supabase.app import create_app

    transport = httpx.ASGITransport(app=create_app(world))
    async with httpx.AsyncClient(transport=transport, base_url="http://supabase.test") as anon:
        for method, path in (("GET", "/v1/organizations"), ("POST", "/v1/projects"),
                             ("GET", "/v1/projects/journalprodqzvtkwmrx/ssl-enforcement")):
            response = await anon.request(method, path, json=BODY)
            assert response.status_code == 401
            assert response.json() == {"message": "Unauthorized"}
