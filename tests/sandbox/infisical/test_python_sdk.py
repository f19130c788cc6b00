"""The official Infisical Python SDK (``infisicalsdk``) against the emulator over loopback.

These prove the emulator speaks the wire format a vendor client expects: paths, query and
body names, response fields the SDK requires, and the error status it surfaces.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from infisical_sdk import InfisicalSDKClient  # type: ignore[import-untyped]
from infisical_sdk.api_types import MachineIdentityLoginResponse  # type: ignore[import-untyped]
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


def _logged_in(served: ServedApp, world: SandboxWorld) -> InfisicalSDKClient:
    client = sdk_client(served)
    client.auth.universal_auth.login(world.credentials.infisical_client_id,
                                     world.credentials.infisical_client_secret)
    return client


def test_sdk_folder_calls(served: ServedApp, world: SandboxWorld, journal: str) -> None:
    """``folders.create_folder``/``list_folders``/``get_folder_by_id``/``update_folder``/
    ``delete_folder`` over ``/api/v2/folders``, with the fields the SDK's models require."""
    client = _logged_in(served, world)

    created = client.folders.create_folder(name="payments", environment_slug="prod",
                                           project_id=journal, path="/apps",
                                           description="billing")
    listed = client.folders.list_folders(project_id=journal, environment_slug="prod",
                                         path="/apps")
    deep = client.folders.list_folders(project_id=journal, environment_slug="prod", path="/",
                                       recursive=True)
    fetched = client.folders.get_folder_by_id(created.id)
    renamed = client.folders.update_folder(folder_id=created.id, name="billing",
                                           environment_slug="prod", project_id=journal,
                                           path="/apps")
    deleted = client.folders.delete_folder(folder_id_or_name="billing",
                                           environment_slug="prod", project_id=journal,
                                           path="/apps")
    after = client.folders.list_folders(project_id=journal, environment_slug="prod",
                                        path="/apps")

    assert (created.path, created.description) == ("/apps/payments", "billing")
    assert [f.name for f in listed.folders] == ["payments"]
    assert {f.relativePath for f in deep.folders} >= {"/apps", "/apps/payments", "/runtime"}
    assert (fetched.path, fetched.environment.envSlug, fetched.projectId) == (
        "/apps/payments", "prod", journal)
    assert (renamed.name, renamed.path) == ("billing", "/apps/billing")
    assert deleted.id == created.id
    assert after.folders == []


def test_sdk_folder_errors_surface_the_services_status(
    served: ServedApp, world: SandboxWorld, journal: str
) -> None:
    client = _logged_in(served, world)
    with pytest.raises(APIError) as invalid:
        client.folders.create_folder(name="no spaces", environment_slug="prod",
                                     project_id=journal)
    with pytest.raises(APIError) as orphan:
        client.secrets.create_secret_by_name(secret_name="ORPHAN", secret_value="x",
                                             environment_slug="prod", project_id=journal,
                                             secret_path="/nowhere")
    assert invalid.value.status_code == 422
    assert orphan.value.status_code == 404
    assert orphan.value.response["message"] == \
        "Folder with path '/nowhere' in environment with slug 'prod' not found"


def test_sdk_reads_an_earlier_secret_version(
    served: ServedApp, world: SandboxWorld, journal: str
) -> None:
    client = _logged_in(served, world)
    where = {"environment_slug": "prod", "secret_path": "/runtime", "project_id": journal}
    client.secrets.create_secret_by_name(secret_name="VERSIONED", secret_value="first", **where)
    client.secrets.update_secret_by_name(current_secret_name="VERSIONED",
                                         secret_value="second", **where)

    first = client.secrets.get_secret_by_name(secret_name="VERSIONED", version="1", **where)
    latest = client.secrets.get_secret_by_name(secret_name="VERSIONED", **where)

    assert (first.version, first.secretValue) == (1, "first")
    assert (latest.version, latest.secretValue) == (2, "second")


def test_sdk_request_layer_renews_its_access_token(
    served: ServedApp, world: SandboxWorld, journal: str
) -> None:
    """The SDK has no renew helper; its request layer (``client.api``) posts to
    ``/api/v1/auth/token/renew`` with the login's token and gets the login's shape back,
    and the renewed token works for the SDK's secret calls."""
    client = _logged_in(served, world)
    renewed = client.api.post(path="/api/v1/auth/token/renew",
                              json={"accessToken": client.access_token},
                              model=MachineIdentityLoginResponse).data
    client.set_token(renewed.accessToken)

    listed = client.secrets.list_secrets(environment_slug="prod", secret_path="/runtime",
                                         project_id=journal)

    assert (renewed.tokenType, renewed.expiresIn) == ("Bearer", 7200)
    assert {s.secretKey for s in listed.secrets} == {"DATABASE_URL", "SESSION_SIGNING_KEY"}
