"""Credentials and the auth boundary of the Infisical client: which variables are read,
the Universal Auth login and its renewal, refusals as VendorAuthError (exit 4) naming the
variable, and no secret in any message."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from converge.errors import VendorAuthError
from converge.vendors.http import RequestCounter
from converge.vendors.infisical import InfisicalClient, load_credentials
from tests.vendors.infisical.conftest import BASE_URL, Harness

LOGIN = "/api/v1/auth/universal-auth/login"
RENEW = "/api/v1/auth/token/renew"


def test_missing_credentials_exit_4_naming_both_variable_sets() -> None:
    with pytest.raises(VendorAuthError) as caught:
        load_credentials({"INFISICAL_API_URL": BASE_URL})
    assert caught.value.exit_code == 4  # like a missing VERCEL_TOKEN
    assert caught.value.vendor == "infisical"
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


def test_config_file_without_credentials_is_refused_with_exit_4(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"apiUrl": BASE_URL}))

    with pytest.raises(VendorAuthError, match="neither token nor clientId") as caught:
        load_credentials({}, path)
    assert caught.value.exit_code == 4
    assert str(path) in caught.value.message


@pytest.mark.parametrize("content", [None, "not json", "[1, 2]"], ids=["absent", "bad", "list"])
def test_an_unreadable_config_file_is_a_credentials_error_naming_the_file(
    tmp_path: Path, content: str | None
) -> None:
    path = tmp_path / "config.json"
    if content is not None:
        path.write_text(content)

    with pytest.raises(VendorAuthError) as caught:
        load_credentials({"INFISICAL_TOKEN": "t"}, path)
    assert caught.value.exit_code == 4
    assert str(path) in caught.value.message


def test_every_request_is_counted(harness: Harness) -> None:
    client = harness.client()
    client.get_project("journal")
    client.get_project("analytics")
    assert harness.counters[-1].total("infisical") == 3  # the login, then two reads


def test_secret_names_are_listed_recursively_without_their_values(harness: Harness) -> None:
    client = harness.client()
    project = client.get_project("journal")

    names = client.list_secret_names(project.id, "prod")
    top_only = client.list_secret_names(project.id, "prod", path="/runtime", recursive=False)

    assert sorted((s.secretPath, s.secretKey) for s in names) == [
        ("/auth", "GITHUB_OAUTH_SECRET"),
        ("/ci", "DEPLOY_KEY"),
        ("/runtime", "DATABASE_URL"),
        ("/runtime", "SESSION_SIGNING_KEY"),
    ]
    assert sorted(s.secretKey for s in top_only) == ["DATABASE_URL", "SESSION_SIGNING_KEY"]
    listing = [e for e in harness.bridge.log if e.startswith("GET /api/v3/secrets/raw")]
    assert listing == ["GET /api/v3/secrets/raw", "GET /api/v3/secrets/raw"]
    assert not hasattr(names[0], "secretValue")


def test_secret_names_request_asks_for_no_values(harness: Harness) -> None:
    seen: list[str] = []
    original = harness.bridge.handle_request

    def spy(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url.params.get("viewSecretValue")))
        return original(request)

    harness.bridge.handle_request = spy  # type: ignore[method-assign]
    client = harness.client()
    client.list_secret_names(client.get_project("journal").id, "prod")

    assert seen[-1] == "false"
