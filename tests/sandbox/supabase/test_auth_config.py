"""Auth config over the emulator's HTTP API: full key set, masking, partial PATCH, 400s."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx
import pytest

from converge_sandbox.supabase.auth_fields import FIELDS, SECRET_FIELDS
from converge_sandbox.world import SandboxWorld

from .conftest import AUTH_EU, JOURNAL

pytestmark = pytest.mark.anyio


async def test_get_returns_every_key_the_cli_requires(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/v1/projects/{JOURNAL}/config/auth")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == set(FIELDS)
    assert len(body) == 237
    assert body["api_max_request_duration"] is not None  # the key the CLI reports missing
    assert body["jwt_exp"] == 3600
    assert body["mailer_otp_exp"] is not None


async def test_secret_reads_back_as_hmac_keyed_by_ref(
    client: httpx.AsyncClient, world: SandboxWorld
) -> None:
    response = await client.patch(
        f"/v1/projects/{JOURNAL}/config/auth",
        json={"external_github_secret": "gh-secret", "smtp_pass": "pw"},
    )
    assert response.status_code == 200
    expected = hmac.new(JOURNAL.encode(), b"gh-secret", hashlib.sha256).hexdigest()
    assert response.json()["external_github_secret"] == expected
    read = (await client.get(f"/v1/projects/{JOURNAL}/config/auth")).json()
    assert read["external_github_secret"] == expected
    assert "gh-secret" not in json.dumps(read)
    # The fingerprint depends on the project: another ref gives another value.
    other = hmac.new(AUTH_EU.encode(), b"gh-secret", hashlib.sha256).hexdigest()
    assert other != expected
    stored = world.store.get("supabase", "auth_config", JOURNAL)
    assert stored is not None and stored["external_github_secret"] == "gh-secret"


async def test_unset_secrets_read_as_null(client: httpx.AsyncClient) -> None:
    body = (await client.get(f"/v1/projects/{JOURNAL}/config/auth")).json()
    assert all(body[name] is None for name in SECRET_FIELDS)


async def test_patch_is_partial_and_returns_the_full_config(client: httpx.AsyncClient) -> None:
    response = await client.patch(
        f"/v1/projects/{JOURNAL}/config/auth",
        json={"jwt_exp": 7200, "site_url": "https://journal.example.com"},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["jwt_exp"], body["site_url"]) == (7200, "https://journal.example.com")
    assert body["password_min_length"] == 6
    assert set(body) == set(FIELDS)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"jwt_exp": 604801}, "jwt_exp: Number must be less than or equal to 604800"),
        ({"password_min_length": 5}, "password_min_length: Number must be greater than"),
        ({"db_max_pool_size_unit": ""}, "db_max_pool_size_unit: Invalid enum value."),
        ({"disable_signup": "no"}, "disable_signup: Expected boolean, received string"),
        ({"site_url": "https://a,https://b"}, "site_url: Invalid"),
        ({"mailer_otp_exp": None}, "mailer_otp_exp: Expected integer, received null"),
    ],
)
async def test_patch_rejects_invalid_values_with_400(
    client: httpx.AsyncClient, patch: dict[str, object], message: str
) -> None:
    before = (await client.get(f"/v1/projects/{JOURNAL}/config/auth")).json()
    response = await client.patch(f"/v1/projects/{JOURNAL}/config/auth", json=patch)
    assert response.status_code == 400
    assert response.json()["message"].startswith(message)
    assert (await client.get(f"/v1/projects/{JOURNAL}/config/auth")).json() == before


async def test_disabling_smtp_clears_smtp_settings(client: httpx.AsyncClient) -> None:
    url = f"/v1/projects/{JOURNAL}/config/auth"
    await client.patch(url, json={"smtp_host": "smtp.example.com", "smtp_port": "587",
                                  "smtp_pass": "pw", "rate_limit_email_sent": 50})
    body = (await client.patch(url, json={"smtp_host": ""})).json()
    assert body["smtp_host"] is None and body["smtp_pass"] is None and body["smtp_port"] is None
    assert body["rate_limit_email_sent"] == 50


async def test_email_rate_limit_needs_custom_smtp(client: httpx.AsyncClient) -> None:
    response = await client.patch(f"/v1/projects/{JOURNAL}/config/auth",
                                  json={"rate_limit_email_sent": 100})
    assert response.status_code == 400
