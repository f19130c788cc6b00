"""``converge drift`` against a real sandbox: out-of-band edits made through the
emulators' HTTP APIs (as a person in a dashboard would) are reported per object and
field with their kind, and ``converge apply`` heals them (drift after apply = 0)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from converge.engine.journal import open_journal
from converge.ops.drift_ages import drift_ages, drift_first_seen
from converge_sandbox.vercel import seed as vercel_seed
from tests.e2e.conftest import E2E, JOURNAL_SUPABASE_REF

VPROJECT = "journal-web"


# -- helpers: a person editing things by hand ---------------------------------------------


def vercel(world: E2E, method: str, path: str, **kw: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {world.sandbox.world.credentials.vercel_token}"}
    response = httpx.request(
        method, world.sandbox.url("vercel") + path, params={"teamId": vercel_seed.team_id()},
        headers=headers, timeout=10, **kw,
    )
    assert response.status_code < 300, response.text
    return response


def vercel_env_id(world: E2E, key: str) -> str:
    matches = [e for e in world.vercel_envs(VPROJECT) if e["key"] == key]
    assert len(matches) == 1, matches
    return str(matches[0]["id"])


def supabase(world: E2E, method: str, path: str, **kw: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {world.sandbox.world.credentials.supabase_access_token}"}
    response = httpx.request(
        method, world.sandbox.url("supabase") + path, headers=headers, timeout=30, **kw
    )
    assert response.status_code < 300, response.text
    return response


def run_sql(world: E2E, query: str) -> None:
    supabase(world, "POST", f"/v1/projects/{JOURNAL_SUPABASE_REF}/database/query",
             json={"query": query})


def identity_id(world: E2E, name: str) -> str:
    found = [d["id"] for d in world.infisical_docs("identity") if d["name"] == name]
    assert len(found) == 1, found
    return str(found[0])


def drift_json(world: E2E) -> tuple[int, dict[str, Any]]:
    result = world.cli("drift", "journal", "--output", "json")
    assert result.exit_code in (0, 2), result.output
    return result.exit_code, json.loads(result.stdout)


def drifted(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for r in report["reports"] for s in r["systems"] for i in s["drift"]]


def one_drift(world: E2E) -> dict[str, Any]:
    code, report = drift_json(world)
    assert code == 2
    items = drifted(report)
    assert len(items) == 1, items
    return items[0]


def fields(item: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {f["field"]: (f["desired"], f["actual"]) for f in item["fields"]}


def assert_healed(world: E2E, *apply_args: str) -> None:
    applied = world.cli("apply", "journal", *apply_args)
    assert applied.exit_code == 0, applied.output
    result = world.cli("drift", "journal")
    assert result.exit_code == 0, result.output
    assert "No drift." in result.stdout


# -- no drift ---------------------------------------------------------------------------------


def test_no_drift_right_after_apply_and_drift_makes_no_vendor_write(drift_world: E2E) -> None:
    writes = drift_world.sandbox.request_log.write_count()
    result = drift_world.cli("drift", "journal")
    assert result.exit_code == 0, result.output
    assert "No drift." in result.stdout
    assert "Drift: 0 object(s)" in result.stdout
    assert drift_world.sandbox.request_log.write_count() == writes


def test_an_unmanaged_variable_not_in_the_way_is_not_drift(drift_world: E2E) -> None:
    vercel(drift_world, "POST", f"/v10/projects/{VPROJECT}/env", json={
        "key": "SENTRY_DSN", "value": "https://public@sentry.example/1", "type": "encrypted",
        "target": ["production"],
    })
    code, report = drift_json(drift_world)
    assert code == 0
    assert not report["has_drift"]
    vercel(drift_world, "DELETE", f"/v9/projects/{VPROJECT}/env/"
           + vercel_env_id(drift_world, "SENTRY_DSN"))


# -- Vercel -----------------------------------------------------------------------------------


def test_vercel_variable_changed_in_dashboard_is_changed_drift_healed_by_apply(
    drift_world: E2E,
) -> None:
    env_id = vercel_env_id(drift_world, "NEXT_PUBLIC_API_URL")
    vercel(drift_world, "PATCH", f"/v9/projects/{VPROJECT}/env/{env_id}",
           json={"value": "https://elsewhere.example"})
    item = one_drift(drift_world)
    assert (item["system"], item["kind"], item["object_kind"]) == ("vercel", "changed", "env")
    assert fields(item)["value"] == ("https://api.journal.acme.example",
                                     "https://elsewhere.example")
    assert item["first_seen"]
    assert_healed(drift_world)
    assert drift_world.vercel_value(VPROJECT, "NEXT_PUBLIC_API_URL") == (
        "https://api.journal.acme.example")


def test_vercel_variable_deleted_in_dashboard_is_missing_drift_healed_by_apply(
    drift_world: E2E,
) -> None:
    drift_world.vercel_delete_env(VPROJECT, vercel_env_id(drift_world, "NEXT_PUBLIC_APP_NAME"))
    item = one_drift(drift_world)
    assert (item["kind"], item["name"]) == ("missing", "NEXT_PUBLIC_APP_NAME@production")
    assert "deleted outside converge" in item["reason"]
    assert_healed(drift_world)


def test_colliding_unmanaged_variable_is_unmanaged_drift_healed_by_apply_adopt(
    drift_world: E2E,
) -> None:
    drift_world.vercel_delete_env(VPROJECT, vercel_env_id(drift_world, "NEXT_PUBLIC_APP_NAME"))
    vercel(drift_world, "POST", f"/v10/projects/{VPROJECT}/env", json={
        "key": "NEXT_PUBLIC_APP_NAME", "value": "Hand made", "type": "plain",
        "target": ["production"],
    })
    item = one_drift(drift_world)
    assert (item["kind"], item["name"]) == ("unmanaged", "NEXT_PUBLIC_APP_NAME@production")
    assert "not managed by converge" in item["reason"]
    assert drift_world.cli("apply", "journal").exit_code == 1  # a conflict, not overwritten
    assert_healed(drift_world, "--adopt")
    assert drift_world.vercel_value(VPROJECT, "NEXT_PUBLIC_APP_NAME") == "Journal"


def test_sensitive_value_replaced_is_changed_drift_without_revealing_it(
    drift_world: E2E,
) -> None:
    env_id = vercel_env_id(drift_world, "INFISICAL_CLIENT_SECRET")
    vercel(drift_world, "PATCH", f"/v9/projects/{VPROJECT}/env/{env_id}",
           json={"value": "pasted-by-hand-0123456789"})
    result = drift_world.cli("drift", "journal")
    assert result.exit_code == 2, result.output
    assert "pasted-by-hand" not in result.output
    item = one_drift(drift_world)
    assert (item["kind"], item["name"]) == ("changed", "INFISICAL_CLIENT_SECRET@production")
    assert fields(item)["value"] == ("(sensitive)", "(sensitive)")
    assert_healed(drift_world)
    assert drift_world.vercel_value(VPROJECT, "INFISICAL_CLIENT_SECRET") != (
        "pasted-by-hand-0123456789")


# -- Infisical --------------------------------------------------------------------------------


def test_binding_removed_in_dashboard_is_missing_drift_healed_by_apply(drift_world: E2E) -> None:
    project_id = drift_world.infisical_project_id("journal")
    ci = identity_id(drift_world, "ci@github-prod")
    response = drift_world.infisical(
        "DELETE", f"/api/v1/projects/{project_id}/identity-memberships/{ci}")
    assert response.status_code == 200, response.text
    item = one_drift(drift_world)
    assert (item["system"], item["kind"], item["object_kind"]) == (
        "infisical", "missing", "binding")
    assert item["name"] == "ci-ci-binding"
    assert fields(item)["roles"] == (["ci-prod"], [])
    assert_healed(drift_world)


def test_identity_ttl_and_trusted_ips_changed_are_changed_drift_healed_by_apply(
    drift_world: E2E,
) -> None:
    token_service = identity_id(drift_world, "token-service@journal-prod")
    response = drift_world.infisical(
        "PATCH", f"/api/v1/auth/universal-auth/identities/{token_service}",
        json={"accessTokenTTL": 7200,
              "accessTokenTrustedIps": [{"ipAddress": "10.0.0.0/8"}]},
    )
    assert response.status_code == 200, response.text
    item = one_drift(drift_world)
    assert (item["kind"], item["name"]) == ("changed", "token-service@journal-prod")
    found = fields(item)
    assert found["universalAuth.accessTokenTTL"] == (3600, 7200)
    assert "universalAuth.accessTokenTrustedIps" in found
    assert_healed(drift_world)


# -- Supabase ---------------------------------------------------------------------------------


def test_jwt_exp_changed_is_changed_drift_healed_by_apply(drift_world: E2E) -> None:
    supabase(drift_world, "PATCH", f"/v1/projects/{JOURNAL_SUPABASE_REF}/config/auth",
             json={"jwt_exp": 7200})
    item = one_drift(drift_world)
    assert (item["system"], item["kind"], item["object_kind"]) == ("supabase", "changed", "auth")
    assert fields(item)["jwt_exp"] == (3600, 7200)
    assert_healed(drift_world)


def test_rls_disabled_on_a_secured_table_is_changed_drift_healed_by_apply(
    drift_world: E2E,
) -> None:
    run_sql(drift_world, "alter table public.profiles disable row level security")
    item = one_drift(drift_world)
    assert (item["kind"], item["label"]) == ("changed", "public.profiles")
    assert fields(item)["row_level_security"] == (True, False)
    assert_healed(drift_world)


def test_new_table_without_rls_is_added_drift_healed_by_apply(drift_world: E2E) -> None:
    run_sql(drift_world, "create table public.drift_notes (id integer primary key)")
    item = one_drift(drift_world)
    assert (item["kind"], item["label"]) == ("added", "public.drift_notes")
    assert fields(item)["row_level_security"] == (True, False)
    assert_healed(drift_world)


def test_published_anon_key_replaced_by_hand_is_changed_drift_healed_by_apply(
    drift_world: E2E,
) -> None:
    key = "NEXT_PUBLIC_SUPABASE_ANON_KEY"
    original = drift_world.vercel_value(VPROJECT, key)
    vercel(drift_world, "PATCH", f"/v9/projects/{VPROJECT}/env/{vercel_env_id(drift_world, key)}",
           json={"value": "not-the-anon-key"})
    item = one_drift(drift_world)
    assert (item["system"], item["kind"], item["object_kind"], item["name"]) == (
        "supabase", "changed", "publish", key)
    assert_healed(drift_world)
    assert drift_world.vercel_value(VPROJECT, key) == original


# -- ages, unverifiable, outputs, errors ------------------------------------------------------


def test_drift_first_seen_is_kept_across_checks_and_forgotten_once_healed(
    drift_world: E2E,
) -> None:
    supabase(drift_world, "PATCH", f"/v1/projects/{JOURNAL_SUPABASE_REF}/config/auth",
             json={"jwt_exp": 1800})
    first = one_drift(drift_world)["first_seen"]
    again = one_drift(drift_world)["first_seen"]
    assert first == again
    key = f"supabase/auth/{JOURNAL_SUPABASE_REF}"
    with open_journal(".converge/state.db", drift_world.root) as journal:
        assert drift_first_seen(journal, "journal", key, "jwt_exp") == first
        ages = drift_ages(journal, "journal")
        assert [(a.object_key, a.field, a.kind) for a in ages] == [(key, "jwt_exp", "changed")]
        assert ages[0].age_seconds >= 0
    assert_healed(drift_world)
    with open_journal(".converge/state.db", drift_world.root) as journal:
        assert drift_ages(journal, "journal") == []
        assert drift_first_seen(journal, "journal", key, "jwt_exp") is None


def test_client_secret_without_journal_marker_is_unverifiable_not_drift(
    drift_world: E2E,
) -> None:
    name = "INFISICAL_CLIENT_SECRET@production"
    with open_journal(".converge/state.db", drift_world.root) as journal:
        [record] = [m for m in journal.managed_objects("journal", "vercel") if m.name == name]
        journal.upsert_managed("journal", "vercel", "env", name, vendor_id=record.vendor_id,
                               marker=None, fingerprint=record.fingerprint)
    try:
        code, report = drift_json(drift_world)
        assert code == 0
        [vercel_part] = [s for s in report["reports"][0]["systems"] if s["system"] == "vercel"]
        assert any("INFISICAL_CLIENT_SECRET" in note for note in vercel_part["unverifiable"])
    finally:
        with open_journal(".converge/state.db", drift_world.root) as journal:
            journal.upsert_managed("journal", "vercel", "env", name,
                                   vendor_id=record.vendor_id, marker=record.marker,
                                   fingerprint=record.fingerprint)


def test_markdown_output_is_a_table_of_fields_desired_against_actual(drift_world: E2E) -> None:
    supabase(drift_world, "PATCH", f"/v1/projects/{JOURNAL_SUPABASE_REF}/config/auth",
             json={"jwt_exp": 900})
    result = drift_world.cli("drift", "journal", "--output", "markdown")
    assert result.exit_code == 2, result.output
    assert "### converge drift: `journal`" in result.stdout
    assert "| changed | auth | `auth journalprodqzvtkwmrx` | `jwt_exp` | 3600 | 900 |" in (
        result.stdout)
    assert_healed(drift_world)


@pytest.mark.parametrize("project", ["analytics"])
def test_drift_of_a_project_without_rendered_artifacts_exits_1(
    drift_world: E2E, project: str
) -> None:
    result = drift_world.cli("drift", project)
    assert result.exit_code == 1
    assert f"error: {project}:" in result.stderr
