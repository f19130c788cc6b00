"""The official Infisical Python SDK (``infisicalsdk``) against the emulator over loopback.

These prove the emulator speaks the wire format a vendor client expects: paths, query and
body names, response fields the SDK requires, and the error status it surfaces.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from infisical_sdk import InfisicalSDKClient  # type: ignore[import-untyped]
from infisical_sdk.infisical_requests import APIError  # type: ignore[import-untyped]

from converge_sandbox.infisical.app import create_app
from converge_sandbox.infisical.seed import secret_value
from converge_sandbox.serving import ServedApp, serve_in_thread
from converge_sandbox.world import SandboxWorld
from tests.sandbox.infisical.helpers import Api, grant_runtime_reader, mint_identity

pytestmark = pytest.mark.conformance


@pytest.fixture
def served(world: SandboxWorld) -> Iterator[ServedApp]:
    with serve_in_thread(create_app(world)) as server:
        yield server


def sdk_client(served: ServedApp) -> InfisicalSDKClient:
    """An SDK client with its cache off, so every call reaches the emulator."""
    return InfisicalSDKClient(host=served.url, cache_ttl=None)


def test_sdk_universal_auth_login_lists_seeded_secrets(
    served: ServedApp, world: SandboxWorld, journal: str
) -> None:
    client = sdk_client(served)
    login = client.auth.universal_auth.login(world.credentials.infisical_client_id,
                                             world.credentials.infisical_client_secret)
    assert login.tokenType == "Bearer"
    assert login.expiresIn > 0

    listed = client.secrets.list_secrets(environment_slug="prod", secret_path="/runtime",
                                         project_id=journal)

    assert sorted(s.secretKey for s in listed.secrets) == ["DATABASE_URL",
                                                           "SESSION_SIGNING_KEY"]
    by_name = {s.secretKey: s for s in listed.secrets}
    assert by_name["DATABASE_URL"].secretValue == secret_value(
        world, "journal", "prod", "/runtime", "DATABASE_URL")


def test_sdk_creates_reads_updates_and_deletes_a_secret(
    served: ServedApp, world: SandboxWorld, journal: str
) -> None:
    client = sdk_client(served)
    client.auth.universal_auth.login(world.credentials.infisical_client_id,
                                     world.credentials.infisical_client_secret)
    where = {"environment_slug": "prod", "secret_path": "/runtime", "project_id": journal}

    created = client.secrets.create_secret_by_name(secret_name="NEW_ONE", secret_value="v1",
                                                   **where)
    assert created.version == 1
    fetched = client.secrets.get_secret_by_name(secret_name="NEW_ONE", **where)
    assert fetched.secretValue == "v1"

    updated = client.secrets.update_secret_by_name(current_secret_name="NEW_ONE",
                                                   secret_value="v2", **where)
    assert updated.version == 2
    assert secret_value(world, "journal", "prod", "/runtime", "NEW_ONE") == "v2"

    client.secrets.delete_secret_by_name(secret_name="NEW_ONE", **where)
    remaining = client.secrets.list_secrets(**where)
    assert "NEW_ONE" not in {s.secretKey for s in remaining.secrets}
    with pytest.raises(APIError) as missing:
        client.secrets.get_secret_by_name(secret_name="NEW_ONE", **where)
    assert missing.value.status_code == 404


def test_sdk_refuses_bad_credentials_with_401(served: ServedApp, world: SandboxWorld) -> None:
    client = sdk_client(served)
    with pytest.raises(APIError) as refused:
        client.auth.universal_auth.login(world.credentials.infisical_client_id, "wrong-secret")
    assert refused.value.status_code == 401
    assert refused.value.response["error"] == "UnauthorizedError"


def test_minted_identity_reads_runtime_secret_and_is_refused_ci_secret(
    served: ServedApp, world: SandboxWorld, org: str, journal: str
) -> None:
    """An identity created through the API (identity, universal auth, client secret, a role
    allowing /runtime/**, a membership) logs in with the SDK and gets exactly that access."""
    operator = Api(create_app(world))
    operator.token = operator.login(world.credentials.infisical_client_id,
                                    world.credentials.infisical_client_secret)
    identity_id, client_id, client_secret = mint_identity(operator, org,
                                                          "token-service@journal-prod")
    grant_runtime_reader(operator, journal, identity_id)

    client = sdk_client(served)
    client.auth.universal_auth.login(client_id, client_secret)

    runtime = client.secrets.get_secret_by_name(secret_name="DATABASE_URL",
                                                environment_slug="prod",
                                                secret_path="/runtime", project_id=journal)
    assert runtime.secretValue == secret_value(world, "journal", "prod", "/runtime",
                                               "DATABASE_URL")
    with pytest.raises(APIError) as refused:
        client.secrets.get_secret_by_name(secret_name="DEPLOY_KEY", environment_slug="prod",
                                          secret_path="/ci", project_id=journal)
    assert refused.value.status_code == 403
    assert refused.value.response["error"] == "PermissionDenied"
    # Listing checks describeSecret on the subject type only, then filters: the service
    # answers /ci with nothing rather than a refusal.
    listing = client.secrets.list_secrets(environment_slug="prod", secret_path="/ci",
                                          project_id=journal)
    assert listing.secrets == []
