"""The exposed schemas (PostgREST's ``db_schema``): one ``postgrest`` change per ref whose
live set differs from ``api.schemas``, applied as a PATCH of ``db_schema`` alone, before
RLS; the live order is kept where it can be (PostgREST's default schema is the first)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from converge.changes import Action
from converge.desired import DesiredSupabase
from converge.vendors.supabase.diff import exposed_order
from converge_sandbox.postgres import PostgresServer
from tests.vendors.supabase.conftest import (
    AUTH_EU,
    AUTH_US,
    JOURNAL,
    Harness,
    database,
    rls_of,
)


def test_a_schema_exposed_out_of_band_is_planned_and_apply_restores_the_declared_list(
    harness: Harness, auth_service: DesiredSupabase
) -> None:
    harness.apply(auth_service)
    harness.vendor("PATCH", f"/v1/projects/{AUTH_EU}/postgrest",
                   json={"db_schema": "public,private", "max_rows": 500})

    (change,) = harness.plan(auth_service)
    assert (change.kind, change.name, change.label, change.action) == (
        "postgrest", AUTH_EU, f"postgrest {AUTH_EU}", Action.UPDATE)
    assert [(d.field, d.before, d.after) for d in change.diffs] == [
        ("db_schema", ["public", "private"], ["public"])]
    assert change.reason == "private exposed but not declared"

    harness.apply(auth_service)
    assert (harness.db_schema(AUTH_EU), harness.db_schema(AUTH_US)) == ("public", "public")
    # Only db_schema is converge's: the other Data API settings stay as they were set.
    assert harness.vendor("GET", f"/v1/projects/{AUTH_EU}/postgrest")["max_rows"] == 500
    assert harness.plan(auth_service) == ()


def test_auth_service_exposes_exactly_its_declared_schemas_on_both_refs(
    harness: Harness, auth_service: DesiredSupabase
) -> None:
    assert harness.db_schema(AUTH_EU) == "public,graphql_public"  # the seed's default

    changes = harness.apply(auth_service)
    kinds = [(c.kind, c.name) for c in changes if c.kind in ("auth", "postgrest")]
    assert kinds == [("auth", AUTH_EU), ("auth", AUTH_US),
                     ("postgrest", AUTH_EU), ("postgrest", AUTH_US)]
    first_rls = next(i for i, c in enumerate(changes) if c.kind == "rls")
    assert all(c.kind != "postgrest" for c in changes[first_rls:])

    assert (harness.db_schema(AUTH_EU), harness.db_schema(AUTH_US)) == ("public", "public")
    assert harness.plan(auth_service) == ()


def test_spaces_and_order_in_the_live_list_are_not_a_change(
    harness: Harness, auth_service: DesiredSupabase
) -> None:
    both = dataclasses.replace(auth_service, exposed_schemas=("graphql_public", "public"))
    harness.apply(both)
    assert harness.db_schema(AUTH_EU) == "public,graphql_public"  # the seed's order kept

    harness.expose(AUTH_EU, " graphql_public , public,")
    assert harness.plan(both) == ()


@pytest.fixture
def private_schema(postgres_server: PostgresServer) -> Iterator[None]:
    """A ``private`` schema with one table without RLS in the journal's database."""
    with database(postgres_server, JOURNAL) as conn:
        conn.execute("drop schema if exists private cascade")
        conn.execute("create schema private")
        conn.execute("create table private.notes (id int)")
    yield None
    with database(postgres_server, JOURNAL) as conn:
        conn.execute("drop schema private cascade")


@pytest.mark.usefixtures("private_schema")
def test_a_newly_exposed_schema_is_exposed_then_secured_in_the_same_run(
    harness: Harness, journal: DesiredSupabase, postgres_server: PostgresServer
) -> None:
    # As rendered: api.schemas sorted, and the policy makes each one an RLS schema.
    wider = dataclasses.replace(journal, exposed_schemas=("private", "public"),
                                rls_schemas=("private", "public"))

    changes = harness.apply(wider)
    order = [c.label for c in changes if c.kind in ("postgrest", "rls")]
    assert order == [f"postgrest {JOURNAL}", "private.notes", "public.profiles", "public.tags"]
    (postgrest,) = [c for c in changes if c.kind == "postgrest"]
    assert postgrest.diffs[0].after == ["public", "private"]  # public stays the default

    assert harness.db_schema(JOURNAL) == "public,private"
    assert rls_of(postgres_server, JOURNAL, "private") == {"notes": True}
    assert harness.plan(wider) == ()


def test_a_lost_postgrest_patch_response_is_reobserved_not_sent_twice(
    harness: Harness, journal: DesiredSupabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVERGE_RETRY_FAST", "1")
    rec = harness.reconciler(journal)
    assert harness.transport is not None
    harness.transport.drop = lambda request: (
        request.method == "PATCH" and request.url.path.endswith("/postgrest"))
    harness.transport.max_drops = 1
    rec.observe(markers={})
    for change in rec.diff():
        rec.apply(change)

    assert harness.transport.dropped == 1
    assert harness.transport.count("PATCH", f"/v1/projects/{JOURNAL}/postgrest") == 1
    assert harness.db_schema(JOURNAL) == "public"
    rec.close()


def test_the_jwt_secret_in_the_postgrest_answer_is_dropped(harness: Harness) -> None:
    secret = harness.vendor("GET", f"/v1/projects/{JOURNAL}/postgrest")["jwt_secret"]
    assert secret
    client = harness.client()
    config = client.get_postgrest_config(JOURNAL)
    client.close()
    assert "jwt_secret" not in config.model_dump()
    assert secret not in repr(config)


@pytest.mark.parametrize(("live", "declared", "sent"), [
    (("public", "graphql_public"), ("public",), ("public",)),
    (("public",), ("private", "public"), ("public", "private")),
    (("graphql_public", "public"), ("graphql_public", "private", "public"),
     ("graphql_public", "public", "private")),
    (("private", "public"), ("graphql_public", "public"), ("public", "graphql_public")),
    ((), ("graphql_public", "public"), ("public", "graphql_public")),
    (("private",), ("a", "b"), ("a", "b")),
    (("public",), (), ()),
])
def test_exposed_order_keeps_the_live_default_or_puts_public_first(
    live: tuple[str, ...], declared: tuple[str, ...], sent: tuple[str, ...]
) -> None:
    assert exposed_order(live, declared) == sent
