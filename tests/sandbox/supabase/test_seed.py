"""The seed: organisation, projects and databases, idempotent."""

from __future__ import annotations

import psycopg

from converge_sandbox.postgres import PostgresServer
from converge_sandbox.supabase.seed import PROJECTS, seed
from converge_sandbox.world import SandboxWorld

from .conftest import JOURNAL


def rls_by_table(url: str) -> dict[str, bool]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select relname, relrowsecurity from pg_class "
            "where relnamespace = 'public'::regnamespace and relkind = 'r'"
        ).fetchall()
    return dict(rows)


def test_seed_creates_the_three_projects_with_secrets(world: SandboxWorld) -> None:
    refs = {p["ref"] for p in world.store.list("supabase", "project")}
    assert refs == {spec.ref for spec in PROJECTS}
    secrets = {p["jwt_secret"] for p in world.store.list("supabase", "project")}
    assert len(secrets) == 3


def test_journal_has_tables_with_and_without_rls(postgres_server: PostgresServer,
                                                 world: SandboxWorld) -> None:
    tables = rls_by_table(postgres_server.database_url(JOURNAL))
    assert tables == {"entries": True, "profiles": False, "tags": False}


def test_seed_twice_keeps_changes_made_since(postgres_server: PostgresServer,
                                             world: SandboxWorld) -> None:
    auth = world.store.get("supabase", "auth_config", JOURNAL)
    assert auth is not None
    world.store.put("supabase", "auth_config", JOURNAL, {**auth, "jwt_exp": 60})
    project_before = world.store.get("supabase", "project", JOURNAL)
    keys_before = world.store.list("supabase", "api_key", prefix=f"{JOURNAL}/")
    seed(world)
    auth_after = world.store.get("supabase", "auth_config", JOURNAL)
    assert auth_after is not None and auth_after["jwt_exp"] == 60
    assert world.store.get("supabase", "project", JOURNAL) == project_before
    assert world.store.list("supabase", "api_key", prefix=f"{JOURNAL}/") == keys_before
    with psycopg.connect(postgres_server.database_url(JOURNAL)) as conn:
        row = conn.execute("select count(*) from public.tags").fetchone()
        roles = conn.execute(
            "select rolname, rolbypassrls from pg_roles "
            "where rolname in ('anon', 'authenticated', 'service_role')"
        ).fetchall()
    assert row is not None and row[0] == 3
    assert dict(roles) == {"anon": False, "authenticated": False, "service_role": True}
