"""Projects, environments and the seeded starting world."""

from __future__ import annotations

from pathlib import Path

from converge_sandbox.infisical.app import create_app
from converge_sandbox.infisical.seed import operator_identity_id, project_id_by_slug, seed
from converge_sandbox.store import SandboxStore
from converge_sandbox.world import SandboxCredentials, SandboxWorld
from tests.sandbox.infisical.helpers import Api


def test_seed_is_idempotent(world: SandboxWorld) -> None:
    before = {kind: world.store.list("infisical", kind)
              for kind in ("org", "project", "identity", "secret", "client_secret",
                           "project_membership")}
    seed(world)
    after = {kind: world.store.list("infisical", kind) for kind in before}
    assert after == before


def test_seed_creates_the_example_workspace_projects_and_secrets(world: SandboxWorld) -> None:
    secrets = world.store.list("infisical", "secret")
    located = {(s["environment"], s["secretPath"], s["secretKey"]) for s in secrets}
    assert ("prod", "/runtime", "DATABASE_URL") in located
    assert ("staging", "/dashboard", "METRICS_API_KEY") in located
    assert len(secrets) == 7
    assert len({s["secretValue"] for s in secrets}) == 7


def test_projects_are_served_under_current_and_legacy_paths(api: Api, journal: str) -> None:
    by_id = api.get(f"/api/v1/projects/{journal}").json()["project"]
    legacy = api.get(f"/api/v1/workspace/{journal}").json()["workspace"]
    by_slug = api.get("/api/v1/projects/slug/journal").json()["project"]
    v2_slug = api.get("/api/v2/workspace/journal").json()

    assert by_id["id"] == legacy["id"] == by_slug["id"] == v2_slug["id"] == journal
    assert [e["slug"] for e in by_id["environments"]] == ["dev", "staging", "prod"]


def test_environment_by_slug_and_missing_environment(api: Api, journal: str) -> None:
    env = api.get(f"/api/v1/projects/{journal}/environments/slug/prod").json()["environment"]
    missing = api.get(f"/api/v1/projects/{journal}/environments/slug/qa")

    assert (env["slug"], env["projectId"]) == ("prod", journal)
    assert missing.status_code == 404
    assert missing.json()["error"] == "NotFound"


def test_operator_sees_every_seeded_project(api: Api, world: SandboxWorld) -> None:
    listed = {p["slug"] for p in api.get("/api/v1/projects").json()["projects"]}
    assert listed == {"journal", "analytics", "auth-service"}
    assert project_id_by_slug(world, "analytics") in {
        p["id"] for p in api.get("/api/v1/projects").json()["projects"]}
    assert operator_identity_id(world)


def test_unknown_route_gets_fastify_404(api: Api) -> None:
    response = api.get("/api/v9/nothing")
    assert response.status_code == 404
    assert response.json()["message"] == "Route GET:/api/v9/nothing not found"


def test_a_persisted_sandbox_reopens_with_the_same_world(tmp_path: Path) -> None:
    """A second process opening the same store sees the same ids, and re-seeding it
    neither duplicates objects nor invalidates the operator's credentials."""
    first_store = SandboxStore(tmp_path / "sandbox.db")
    first = SandboxWorld(store=first_store,
                         credentials=SandboxCredentials.load_or_create(first_store))
    seed(first)
    journal = project_id_by_slug(first, "journal")
    first_store.close()

    store = SandboxStore(tmp_path / "sandbox.db")
    again = SandboxWorld(store=store, credentials=SandboxCredentials.load_or_create(store))
    seed(again)

    assert project_id_by_slug(again, "journal") == journal
    assert len(store.list("infisical", "project")) == 3
    client = Api(create_app(again))
    token = client.login(again.credentials.infisical_client_id,
                         again.credentials.infisical_client_secret)
    assert client.get(f"/api/v1/projects/{journal}", token=token).status_code == 200
