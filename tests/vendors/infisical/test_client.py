"""Credentials and the auth boundary of the Infisical client: which variables are read,
the Universal Auth login and its renewal, refusals as VendorAuthError (exit 4) naming the
variable, and no secret in any message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from converge.errors import ConvergeError, VendorAuthError
from converge.vendors.http import RequestCounter
from converge.vendors.infisical import InfisicalClient, load_credentials
from tests.vendors.infisical.conftest import BASE_URL, Harness

LOGIN = "/api/v1/auth/universal-auth/login"
RENEW = "/api/v1/auth/token/renew"


def test_missing_credentials_name_both_variable_sets() -> None:
    with pytest.raises(ConvergeError) as caught:
        load_credentials({"INFISICAL_API_URL": BASE_URL})
    assert "INFISICAL_TOKEN" in caught.value.message
    assert "INFISICAL_CLIENT_ID" in caught.value.message
    assert "INFISICAL_CLIENT_SECRET" in caught.value.message


def test_default_api_url_is_infisical_cloud() -> None:
    assert load_credentials({"INFISICAL_TOKEN": "t"}).api_url == "https://app.infisical.com"


def test_refused_token_is_vendor_auth_error_naming_infisical_token(harness: Harness) -> None:
    client = harness.client({"INFISICAL_API_URL": BASE_URL, "INFISICAL_TOKEN": "st.wrong.token"})

    with pytest.raises(VendorAuthError) as caught:
        client.get_project("journal")

    assert caught.value.exit_code == 4
    assert "INFISICAL_TOKEN" in caught.value.message
    assert "INFISICAL_TOKEN" in caught.value.hint
    assert "st.wrong.token" not in str(caught.value) + caught.value.hint


def test_refused_client_secret_names_the_client_variables(harness: Harness) -> None:
    creds = harness.world.credentials
    wrong = "f" * 64
    client = harness.client({"INFISICAL_API_URL": BASE_URL,
                             "INFISICAL_CLIENT_ID": creds.infisical_client_id,
                             "INFISICAL_CLIENT_SECRET": wrong})

    with pytest.raises(VendorAuthError) as caught:
        client.get_project("journal")

    assert caught.value.exit_code == 4
    assert "INFISICAL_CLIENT_ID" in caught.value.message
    assert wrong not in str(caught.value) + caught.value.hint


def test_universal_auth_token_is_cached_and_renewed_before_expiry(harness: Harness) -> None:
    client = harness.client()

    project = client.get_project("journal")
    client.list_roles(project.id)
    assert harness.bridge.count("POST", LOGIN) == 1

    client.tokens.force_refresh()  # the cached token is about to expire
    client.list_roles(project.id)
    assert (harness.bridge.count("POST", LOGIN), harness.bridge.count("POST", RENEW)) == (1, 1)


def test_config_file_with_client_credentials_is_accepted(
    harness: Harness, tmp_path: Path
) -> None:
    creds = harness.world.credentials
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"apiUrl": BASE_URL, "clientId": creds.infisical_client_id,
                                "clientSecret": creds.infisical_client_secret}))
    client = InfisicalClient.from_environment({}, counter=RequestCounter(),
                                              transport=harness.bridge, config_path=path)

    assert client.get_project("journal").slug == "journal"
    assert creds.infisical_client_secret not in repr(client.credentials)


def test_config_file_without_credentials_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"apiUrl": BASE_URL}))

    with pytest.raises(ConvergeError, match="neither token nor clientId"):
        load_credentials({}, path)


def test_every_request_is_counted(harness: Harness) -> None:
    client = harness.client()
    client.get_project("journal")
    client.get_project("analytics")
    assert harness.counters[-1].total("infisical") == 3  # the login, then two reads
