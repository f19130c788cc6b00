"""The Supabase client: credentials (exit 4 naming the variable), errors, pacing, and the
direct-database path through SUPABASE_DB_URL."""

from __future__ import annotations

import pytest

from converge.desired import DesiredSupabase
from converge.errors import ConvergeError, VendorAuthError, VendorError
from converge.vendors.http import RequestCounter
from converge.vendors.supabase.client import DB_VENDOR, RATE_LIMIT, SupabaseClient
from converge_sandbox.postgres import PostgresServer
from tests.vendors.supabase.conftest import AUTH_EU, JOURNAL, Harness, rls_of


def test_a_wrong_token_is_a_vendor_auth_error_naming_the_variable(
    harness: Harness, journal: DesiredSupabase
) -> None:
    wrong = "sbp_" + "0" * 40
    rec = harness.reconciler(journal, token=wrong)
    with pytest.raises(VendorAuthError) as caught:
        rec.observe(markers={})
    error = caught.value
    assert error.exit_code == 4
    assert "SUPABASE_ACCESS_TOKEN" in error.hint
    assert wrong not in str(error) + error.hint
    assert harness.world.credentials.supabase_access_token not in str(error) + error.hint


def test_a_missing_token_is_refused_before_any_request() -> None:
    with pytest.raises(VendorAuthError) as caught:
        SupabaseClient.from_environment({}, counter=RequestCounter())
    assert caught.value.exit_code == 4
    assert "SUPABASE_ACCESS_TOKEN" in caught.value.message


def test_an_unknown_project_ref_is_named_in_the_error(harness: Harness) -> None:
    client = harness.client()
    with pytest.raises(VendorError) as caught:
        client.get_auth_config("nosuchprojectrefxxxx")
    assert caught.value.status == 404
    assert "nosuchprojectrefxxxx" in caught.value.message
    client.close()


def test_get_project_reads_the_project(harness: Harness) -> None:
    client = harness.client()
    project = client.get_project(AUTH_EU)
    assert (project.ref, project.region, project.status) == (
        AUTH_EU, "eu-west-1", "ACTIVE_HEALTHY")
    client.close()


def test_each_endpoint_and_project_has_its_own_budget(harness: Harness) -> None:
    client = harness.client()
    client.get_auth_config(JOURNAL)
    client.get_auth_config(AUTH_EU)
    client.list_api_keys(JOURNAL)
    assert set(client.budgets) == {("auth", JOURNAL), ("auth", AUTH_EU),
                                   ("api-keys", JOURNAL)}
    assert all(b.limit == RATE_LIMIT for b in client.budgets.values())
    client.close()


def test_sql_goes_straight_to_the_database_with_a_db_url_template(
    harness: Harness, journal: DesiredSupabase, postgres_server: PostgresServer
) -> None:
    url = postgres_server.database_url(JOURNAL)
    harness.env["SUPABASE_DB_URL"] = url.replace(f"/{JOURNAL}", "/{ref}")

    harness.apply(journal)

    assert rls_of(postgres_server, JOURNAL) == {"entries": True, "profiles": True,
                                                "tags": True}
    assert harness.transport is not None
    assert not any("database/query" in entry for entry in harness.transport.log)
    assert harness.counter.total(DB_VENDOR) == 3  # the listing, then two ALTER TABLEs
    assert harness.plan(journal) == ()


def test_a_single_db_url_serves_one_project_only(
    harness: Harness, auth_service: DesiredSupabase, postgres_server: PostgresServer
) -> None:
    harness.env["SUPABASE_DB_URL"] = postgres_server.database_url(AUTH_EU)
    with pytest.raises(ConvergeError) as caught:
        harness.plan(auth_service)
    assert "SUPABASE_DB_URL" in caught.value.message + caught.value.hint


def test_a_refused_database_password_names_supabase_db_url(
    harness: Harness, journal: DesiredSupabase, postgres_server: PostgresServer
) -> None:
    url = postgres_server.database_url(JOURNAL)
    scheme, rest = url.split("://", 1)
    user_password, host = rest.split("@", 1)
    user = user_password.split(":", 1)[0]
    harness.env["SUPABASE_DB_URL"] = f"{scheme}://{user}:not-the-password@{host}"
    with pytest.raises(VendorAuthError) as caught:
        harness.plan(journal)
    assert caught.value.exit_code == 4
    assert "SUPABASE_DB_URL" in caught.value.hint
    assert "not-the-password" not in str(caught.value) + caught.value.hint
