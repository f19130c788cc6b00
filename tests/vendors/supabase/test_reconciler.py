"""The Supabase reconciler against the emulator and its real PostgreSQL: plan, apply, end
state, idempotence, secrets compared by HMAC, RLS, publishing the anon key."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac

import jwt
import psycopg
import pytest

from converge.changes import SENSITIVE, Action
from converge.desired import DesiredSupabase
from converge.errors import ConvergeError
from converge.vendors.supabase.reconciler import SupabaseReconciler
from converge_sandbox.postgres import PostgresServer
from converge_sandbox.supabase.state import VENDOR
from converge_sandbox.world import SandboxWorld
from tests.vendors.supabase.conftest import (
    AUTH_EU,
    AUTH_US,
    GITHUB_SECRET_REF,
    JOURNAL,
    Harness,
    by_label,
    database,
    rls_of,
)


def hmac_of(ref: str, value: str) -> str:
    return hmac.new(ref.encode(), value.encode(), hashlib.sha256).hexdigest()


def test_plan_from_seed_shows_auth_field_diffs_rls_and_publishing(
    harness: Harness, journal: DesiredSupabase
) -> None:
    changes = harness.plan(journal)

    labels = [c.label for c in changes]
    assert labels == [f"auth {JOURNAL}", f"postgrest {JOURNAL}", "public.profiles",
                      "public.tags", "NEXT_PUBLIC_SUPABASE_ANON_KEY", "NEXT_PUBLIC_SUPABASE_URL"]
    auth = by_label(changes)[f"auth {JOURNAL}"]
    diffs = {d.field: (d.before, d.after) for d in auth.diffs}
    assert diffs == {
        "site_url": ("http://localhost:3000", "https://journal.acme.example"),
        "uri_allow_list": ([], ["https://journal.acme.example/auth/callback"]),
        "password_min_length": (6, 12),
        "external_github_enabled": (None, True),
        "external_github_client_id": (None, "Iv1.8a61f9b3a7aba766"),
        "external_github_secret": (None, SENSITIVE),
    }
    assert "jwt_exp" not in diffs  # the seed already has 3600
    assert auth.desired["secrets"] == {"external_github_secret": GITHUB_SECRET_REF}
    assert "gh-oauth-secret-one" not in repr(auth.to_json()) + repr(dict(auth.desired))
    rls = by_label(changes)["public.profiles"]
    assert (rls.kind, rls.action, rls.name) == ("rls", Action.UPDATE, f"{JOURNAL}/public.profiles")
    assert [c.action for c in changes if c.kind == "publish"] == [Action.CREATE] * 2
    assert ("secret/prod/auth/GITHUB_OAUTH_SECRET", False) in harness.resolver.reads


def test_apply_reaches_end_state_then_a_second_plan_is_empty_with_one_read_per_kind(
    harness: Harness, journal: DesiredSupabase, postgres_server: PostgresServer
) -> None:
    harness.apply(journal)

    config = harness.auth_config(JOURNAL)
    assert config["site_url"] == "https://journal.acme.example"
    assert config["uri_allow_list"] == "https://journal.acme.example/auth/callback"
    assert config["jwt_exp"] == 3600
    assert config["password_min_length"] == 12
    assert config["external_github_enabled"] is True
    assert config["external_github_client_id"] == "Iv1.8a61f9b3a7aba766"
    assert config["external_github_secret"] == hmac_of(JOURNAL, "gh-oauth-secret-one")
    assert rls_of(postgres_server, JOURNAL) == {"entries": True, "profiles": True,
                                                "tags": True}

    rec = harness.reconciler(journal)
    rec.observe(markers=harness.markers)
    assert list(rec.diff()) == []
    log = harness.transport.log if harness.transport else []
    assert sorted(log) == sorted([
        f"GET /v1/projects/{JOURNAL}/config/auth",
        f"GET /v1/projects/{JOURNAL}/postgrest",
        f"POST /v1/projects/{JOURNAL}/database/query/read-only",
        f"GET /v1/projects/{JOURNAL}/api-keys",
    ])
    assert harness.counter.total("supabase", writes_only=True) == 1  # the SQL listing POST
    rec.close()


def test_summary_reports_jwt_expiry_and_rls_after_apply(
    harness: Harness, journal: DesiredSupabase
) -> None:
    rec = harness.reconciler(journal)
    assert rec.summary() == {}
    rec.observe(markers={})
    before = rec.summary()
    assert before["rls_enforced"] is False
    assert before["projects"][0]["tables_without_rls"] == ["public.profiles", "public.tags"]
    for change in rec.diff():
        rec.apply(change)

    after = rec.summary()
    assert (after["rls_enforced"], after["jwt_exp"]) == (True, {JOURNAL: 3600})
    (project,) = rec.project_summaries()
    assert (project.ref, project.jwt_exp, project.tables_without_rls) == (JOURNAL, 3600, ())
    rec.close()


def test_summary_after_apply_shows_the_jwt_expiry_the_vendor_now_holds(
    harness: Harness, auth_service: DesiredSupabase
) -> None:
    rec = harness.reconciler(auth_service)
    rec.observe(markers={})
    assert rec.summary()["jwt_exp"] == {AUTH_EU: 3600, AUTH_US: 3600}
    for change in rec.diff():
        rec.apply(change)
    assert rec.summary()["jwt_exp"] == {AUTH_EU: 900, AUTH_US: 900}
    assert rec.summary()["rls_enforced"] is True
    rec.close()


def test_a_table_created_later_without_rls_is_one_change_quoted_safely(
    harness: Harness, journal: DesiredSupabase, postgres_server: PostgresServer
) -> None:
    harness.apply(journal)
    with database(postgres_server, JOURNAL) as conn:
        conn.execute('create table public."odd ""name" (id int)')

    changes = harness.plan(journal)
    assert [(c.kind, c.label) for c in changes] == [("rls", 'public.odd "name')]

    harness.apply(journal)
    assert rls_of(postgres_server, JOURNAL)['odd "name'] is True
    assert harness.plan(journal) == ()


def test_unchanged_github_secret_compares_equal_and_a_changed_one_differs(
    harness: Harness, journal: DesiredSupabase
) -> None:
    harness.apply(journal)
    assert harness.plan(journal) == ()

    harness.resolver.values[GITHUB_SECRET_REF] = "gh-oauth-secret-two"  # changed in Infisical
    (change,) = harness.plan(journal)
    assert change.kind == "auth"
    assert [(d.field, d.before, d.after) for d in change.diffs] == [
        ("external_github_secret", SENSITIVE, SENSITIVE)]

    harness.apply(journal)
    assert harness.auth_config(JOURNAL)["external_github_secret"] == hmac_of(
        JOURNAL, "gh-oauth-secret-two")
    assert harness.plan(journal) == ()


def test_an_unreadable_secret_is_unverifiable_never_changed(
    harness: Harness, journal: DesiredSupabase
) -> None:
    harness.apply(journal)
    harness.resolver.values.clear()

    rec = harness.reconciler(journal)
    rec.observe(markers=harness.markers)
    assert list(rec.diff()) == []
    (note,) = rec.notes
    assert note.change_key == f"supabase/auth/{JOURNAL}"
    assert note.message.startswith("unverifiable (reference not readable yet): "
                                   "external_github_secret ")
    rec.close()


def test_raising_rotate_resends_the_secret(harness: Harness, journal: DesiredSupabase) -> None:
    harness.apply(journal)
    auth = dict(journal.auth)
    auth["providers"] = {"github": {**auth["providers"]["github"],
                                    "secret": {"ref": GITHUB_SECRET_REF, "rotate": 1}}}
    rotated = dataclasses.replace(journal, auth=auth)

    (change,) = harness.plan(rotated)
    assert [d.field for d in change.diffs] == ["external_github_secret"]
    harness.apply(rotated)
    assert harness.plan(rotated) == ()


def test_the_anon_key_and_url_are_published_and_the_key_is_an_anon_jwt(
    harness: Harness, journal: DesiredSupabase
) -> None:
    harness.apply(journal)

    published = harness.publisher.variables
    assert published["NEXT_PUBLIC_SUPABASE_URL"]["value"] == f"https://{JOURNAL}.supabase.co"
    anon = published["NEXT_PUBLIC_SUPABASE_ANON_KEY"]
    claims = jwt.decode(anon["value"], options={"verify_signature": False})
    assert (claims["role"], claims["ref"]) == ("anon", JOURNAL)
    assert anon["targets"] == ["production"] and anon["sensitive"] is False

    harness.publisher.calls.clear()
    harness.apply(journal)
    assert harness.publisher.calls == []  # published fingerprint unchanged: nothing re-sent


def test_a_variable_changed_in_vercel_is_published_again(
    harness: Harness, journal: DesiredSupabase
) -> None:
    harness.apply(journal)
    harness.publisher.variables["NEXT_PUBLIC_SUPABASE_URL"]["fp"] = "edited-in-vercel"

    (change,) = harness.plan(journal)
    assert (change.kind, change.label, change.action) == (
        "publish", "NEXT_PUBLIC_SUPABASE_URL", Action.UPDATE)


def test_a_published_value_the_publisher_cannot_verify_is_a_note_never_a_change(
    harness: Harness, journal: DesiredSupabase
) -> None:
    harness.apply(journal)
    harness.publisher.variables["NEXT_PUBLIC_SUPABASE_ANON_KEY"]["kid"] = "another-key"

    rec = harness.reconciler(journal)
    rec.observe(markers={})  # a fresh state: the vendor's record alone decides
    assert list(rec.diff()) == []
    (note,) = rec.notes
    assert (note.change_key, note.message) == (
        "supabase/publish/NEXT_PUBLIC_SUPABASE_ANON_KEY", "fingerprint key differs")
    rec.close()


def test_published_values_in_sync_need_no_journal_marker(
    harness: Harness, journal: DesiredSupabase
) -> None:
    harness.apply(journal)
    harness.markers.clear()  # a fresh clone: no journal at all

    assert [c for c in harness.plan(journal) if c.kind == "publish"] == []


def test_a_service_role_key_served_as_anon_is_refused(
    harness: Harness, journal: DesiredSupabase, world: SandboxWorld
) -> None:
    keys = world.store.list(VENDOR, "api_key", prefix=f"{JOURNAL}/")
    service = next(k for k in keys if k["name"] == "service_role")
    anon = next(k for k in keys if k["name"] == "anon")
    world.store.put(VENDOR, "api_key", f"{JOURNAL}/{anon['id']}",
                    {**anon, "api_key": service["api_key"]})

    with pytest.raises(ConvergeError) as caught:
        harness.plan(journal)
    assert "service_role" in caught.value.message
    assert service["api_key"] not in str(caught.value) + caught.value.hint
    assert harness.publisher.variables == {}


def test_auth_service_is_applied_to_both_region_refs(
    harness: Harness, auth_service: DesiredSupabase, postgres_server: PostgresServer
) -> None:
    changes = harness.apply(auth_service)
    assert [c.label for c in changes if c.kind == "auth"] == [f"auth {AUTH_EU}",
                                                              f"auth {AUTH_US}"]

    for ref in (AUTH_EU, AUTH_US):
        config = harness.auth_config(ref)
        assert (config["jwt_exp"], config["disable_signup"], config["site_url"]) == (
            900, True, "https://login.acme.example")
        assert config["password_min_length"] == 14
        assert config["mfa_totp_enroll_enabled"] is True
        assert config["mfa_phone_enroll_enabled"] is False
        assert config["uri_allow_list"] == "https://*.acme.example/auth/callback"
        assert rls_of(postgres_server, ref) == {"sessions": True, "audit_log": True,
                                                "settings": True}
    assert harness.plan(auth_service) == ()
    assert harness.publisher.variables == {}


def test_rls_not_enforced_leaves_tables_alone_and_reads_none(
    harness: Harness, journal: DesiredSupabase, postgres_server: PostgresServer
) -> None:
    relaxed = dataclasses.replace(journal, rls_enforce=False, publish=())

    changes = harness.plan(relaxed)
    assert [c.kind for c in changes] == ["auth", "postgrest"]
    assert not any("database/query" in entry for entry in harness.transport.log)  # type: ignore[union-attr]
    harness.apply(relaxed)
    assert rls_of(postgres_server, JOURNAL)["profiles"] is False


def test_a_lost_patch_response_is_reobserved_not_sent_twice(
    harness: Harness, journal: DesiredSupabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVERGE_RETRY_FAST", "1")
    rec = harness.reconciler(journal)
    assert harness.transport is not None
    harness.transport.drop = lambda request: request.method == "PATCH"
    harness.transport.max_drops = 1
    rec.observe(markers={})
    for change in rec.diff():
        rec.apply(change)

    assert harness.transport.dropped == 1
    assert harness.transport.count("PATCH", f"/v1/projects/{JOURNAL}/config/auth") == 1
    assert harness.auth_config(JOURNAL)["site_url"] == "https://journal.acme.example"
    rec.close()


def test_an_sql_error_is_a_vendor_error_naming_the_request(
    harness: Harness, journal: DesiredSupabase, postgres_server: PostgresServer
) -> None:
    rec = harness.reconciler(journal)
    rec.observe(markers={})
    rls = next(c for c in rec.diff() if c.label == "public.tags")
    with database(postgres_server, JOURNAL) as conn:
        conn.execute("alter table public.tags rename to tags_gone")
    try:
        with pytest.raises(ConvergeError) as caught:
            rec.apply(rls)
        assert "42P01" in caught.value.message
    finally:
        with database(postgres_server, JOURNAL) as conn:
            conn.execute("alter table public.tags_gone rename to tags")
        rec.close()


def test_psycopg_sees_rls_off_before_apply(postgres_server: PostgresServer,
                                           world: SandboxWorld) -> None:
    """The world fixture really resets the seed's open tables (so the tests above prove
    something)."""
    assert rls_of(postgres_server, JOURNAL) == {"entries": True, "profiles": False,
                                                "tags": False}
    with pytest.raises(psycopg.errors.UndefinedTable), database(postgres_server, JOURNAL) as c:
        c.execute("select 1 from public.later_notes")


def test_publishing_without_a_publisher_is_refused_before_any_write(
    harness: Harness, journal: DesiredSupabase
) -> None:
    rec = SupabaseReconciler(journal, harness.client(), resolver=harness.resolver)
    with pytest.raises(ConvergeError) as caught:
        rec.observe(markers={})
    assert "publisher" in caught.value.message
    assert harness.counter.total("supabase", writes_only=True) == 1  # the SQL listing only
    rec.close()
