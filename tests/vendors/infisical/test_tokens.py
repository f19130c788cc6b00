"""The live credential path against the emulator: which credential converge prefers, and
how a run outlives an access token (renewal before expiry, a new login when the service
refuses the token, a renewed token carried to the next client of the same process), and
what a legacy service token may and may not do."""

from __future__ import annotations

import time

import httpx
import pytest

from converge.errors import VendorAuthError
from converge.vendors.infisical import load_credentials
from converge.vendors.infisical.client import CLIENT_VARIABLES
from converge_sandbox.infisical.seed import (
    create_service_token,
    operator_access_token,
    org_id,
    project_id_by_slug,
    secret_value,
)
from tests.vendors.infisical.conftest import BASE_URL, Harness

LOGIN = "/api/v1/auth/universal-auth/login"
RENEW = "/api/v1/auth/token/renew"
TTL = 7200  # the operator's accessTokenTTL in the seed


def _advance(harness: Harness, seconds: float) -> None:
    """Move the emulator's clock (only the service's: converge's own clock stays)."""
    harness.world.clock = lambda: time.time() + seconds


def test_client_credentials_are_preferred_over_a_token() -> None:
    creds = load_credentials({"INFISICAL_API_URL": BASE_URL, "INFISICAL_TOKEN": "t",
                              "INFISICAL_CLIENT_ID": "id", "INFISICAL_CLIENT_SECRET": "s"})
    assert (creds.source, creds.client_id, creds.token) == (CLIENT_VARIABLES, "id", None)


def test_a_token_the_service_expired_mid_run_is_replaced_by_a_new_login(
    harness: Harness
) -> None:
    """Converge's clock says the token is fresh, the service's says it expired (a long
    watch, a suspended laptop): the refused call is sent again after a new login."""
    client = harness.client()
    project = client.get_project("journal")
    _advance(harness, TTL + 1)

    roles = client.list_roles(project.id)

    assert {r.slug for r in roles} >= {"admin", "viewer"}
    assert harness.bridge.count("POST", LOGIN) == 2


def test_a_given_token_is_renewed_before_expiry_and_the_next_client_uses_the_renewal(
    harness: Harness
) -> None:
    """``INFISICAL_TOKEN`` alone: the client renews it before it expires, and a client
    built later in the same process from the same environment (the next watch cycle)
    sends the renewed token once the original has expired."""
    original = operator_access_token(harness.world)
    env = {"INFISICAL_API_URL": BASE_URL, "INFISICAL_TOKEN": original}
    _advance(harness, TTL - 200)
    first = harness.client(env)
    first.tokens.force_refresh()  # converge's clock reached the renewal margin
    first.get_project("journal")
    _advance(harness, TTL + 300)  # the original has expired; its renewal has not

    second = harness.client(env)
    found = second.get_project("journal")
    stale = httpx.Client(transport=harness.bridge, base_url=BASE_URL).get(
        "/api/v1/identities/details", headers={"Authorization": f"Bearer {original}"})

    assert found.slug == "journal"
    assert harness.bridge.count("POST", RENEW) == 1
    assert harness.bridge.count("POST", LOGIN) == 0
    assert (stale.status_code, stale.json()["error"]) == (403, "TokenError")


def test_an_expired_given_token_is_refused_with_a_hint_to_log_in(harness: Harness) -> None:
    token = operator_access_token(harness.world)
    _advance(harness, TTL + 1)
    client = harness.client({"INFISICAL_API_URL": BASE_URL, "INFISICAL_TOKEN": token})

    with pytest.raises(VendorAuthError) as caught:
        client.get_project("journal")

    assert caught.value.exit_code == 4
    assert "INFISICAL_TOKEN" in caught.value.message
    assert "expired" in caught.value.hint and "INFISICAL_CLIENT_ID" in caught.value.hint
    assert token not in str(caught.value) + caught.value.hint


def test_a_service_token_reads_secrets_but_is_refused_identity_work(harness: Harness) -> None:
    """What Infisical lets a legacy service token do: read secrets in its scopes; not
    list identities (``Forbidden access to …``), which converge reports as refused
    credentials, naming the variables of a machine identity."""
    world = harness.world
    token = create_service_token(world, "journal", permissions=["read"],
                                 scopes=[{"environment": "prod", "secretPath": "/**"}])
    client = harness.client({"INFISICAL_API_URL": BASE_URL, "INFISICAL_TOKEN": token})

    value = client.get_secret_value(project_id_by_slug(world, "journal"), "prod", "/runtime",
                                    "DATABASE_URL")
    with pytest.raises(VendorAuthError) as caught:
        client.list_identities(org_id(world))

    assert value == secret_value(world, "journal", "prod", "/runtime", "DATABASE_URL")
    assert caught.value.status == 403
    assert "service token" in caught.value.hint and "INFISICAL_CLIENT_ID" in caught.value.hint
    assert token not in str(caught.value) + caught.value.hint


def _jwt(iat: float, exp: float) -> str:
    import base64
    import json as _json

    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(_json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256'})}.{part({'iat': iat, 'exp': exp})}.signature"


class _Service:
    """Stands in for the login and renew endpoints (the keeper's only I/O)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def post(self, path: str, body: dict[str, object]) -> httpx.Response:
        self.calls.append(path)
        token = "renewed" if path == RENEW else "logged-in"
        return httpx.Response(200, json={"accessToken": token, "expiresIn": 7200,
                                         "accessTokenMaxTTL": 86400, "tokenType": "Bearer"})


def test_a_given_token_is_renewed_once_half_its_life_has_passed() -> None:
    """Renewing at half-life lets any watch cycle in the second half keep the token alive
    (a cycle interval up to half the TTL never finds it expired)."""
    from converge.vendors.infisical.tokens import TokenKeeper

    now = {"wall": 1000.0, "mono": 50.0}
    service = _Service()
    keeper = TokenKeeper(service.post, token=_jwt(1000.0, 1000.0 + TTL),
                         monotonic=lambda: now["mono"], wall=lambda: now["wall"])

    assert keeper.current() != "renewed" and service.calls == []
    now["mono"] += TTL / 2 + 1
    assert keeper.current() == "renewed"
    assert service.calls == [RENEW]


def test_client_credentials_log_in_then_renew_at_half_life() -> None:
    from converge.vendors.infisical.tokens import TokenKeeper

    now = {"mono": 0.0}
    service = _Service()
    keeper = TokenKeeper(service.post, client_id="id", client_secret="s",
                         monotonic=lambda: now["mono"])

    assert keeper.current() == "logged-in"
    now["mono"] = TTL / 2 - 1
    assert keeper.current() == "logged-in"
    now["mono"] = TTL / 2 + 1
    assert keeper.current() == "renewed"
    assert service.calls == [LOGIN, RENEW]
