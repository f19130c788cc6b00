"""The Infisical reference resolver over real loopback HTTP: a minted client secret lets
the official Python SDK log in as the identity, read the secrets its role allows and be
refused the others; client ids and secret references resolve; rotation revokes only
converge's own secrets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from infisical_sdk import InfisicalSDKClient  # type: ignore[import-untyped]
from infisical_sdk.infisical_requests import APIError  # type: ignore[import-untyped]

from converge.changes import order_changes
from converge.desired import DesiredState
from converge.errors import ConvergeError
from converge.vendors.http import RequestCounter
from converge.vendors.infisical import InfisicalClient, InfisicalReconciler, InfisicalResolver
from converge_sandbox.infisical.app import create_app
from converge_sandbox.infisical.seed import project_id_by_slug, secret_value, seed
from converge_sandbox.infisical.state import InfisicalState
from converge_sandbox.serving import ServedApp, serve_in_thread
from converge_sandbox.world import SandboxWorld

TOKEN_SERVICE = "token-service@journal-prod"


@pytest.fixture
def served() -> Iterator[tuple[SandboxWorld, ServedApp]]:
    world = SandboxWorld.in_memory()
    seed(world)
    with serve_in_thread(create_app(world)) as server:
        yield world, server


def _client(world: SandboxWorld, server: ServedApp) -> InfisicalClient:
    return InfisicalClient.from_environment(
        {"INFISICAL_API_URL": server.url,
         "INFISICAL_CLIENT_ID": world.credentials.infisical_client_id,
         "INFISICAL_CLIENT_SECRET": world.credentials.infisical_client_secret},
        counter=RequestCounter(),
    )


@pytest.fixture
def applied(
    served: tuple[SandboxWorld, ServedApp], journal_desired: DesiredState
) -> Iterator[tuple[SandboxWorld, ServedApp, InfisicalResolver]]:
    """The journal project applied over loopback, and a resolver for it."""
    world, server = served
    reconciler = InfisicalReconciler(journal_desired, _client(world, server))
    reconciler.observe(markers={})
    for change in order_changes(reconciler.diff()):
        reconciler.apply(change)
    reconciler.observe(markers={})
    assert list(reconciler.diff()) == []
    reconciler.close()
    client = _client(world, server)
    resolver = InfisicalResolver(client, organization="acme", project="journal",
                                 infisical_project="journal", environments={"prod": "prod"})
    yield world, server, resolver
    client.close()


def test_minted_client_secret_lets_the_sdk_read_runtime_but_not_ci_secrets(
    applied: tuple[SandboxWorld, ServedApp, InfisicalResolver],
) -> None:
    world, server, resolver = applied
    client_id = resolver.resolve(f"identity/{TOKEN_SERVICE}/client-id")
    client_secret = resolver.resolve(f"identity/{TOKEN_SERVICE}/client-secret", mint=True)
    project_id = project_id_by_slug(world, "journal")

    sdk = InfisicalSDKClient(host=server.url)
    sdk.auth.universal_auth.login(client_id=client_id, client_secret=client_secret)
    secret = sdk.secrets.get_secret_by_name(
        secret_name="DATABASE_URL", project_id=project_id, environment_slug="prod",
        secret_path="/runtime")
    assert secret.secretValue == secret_value(world, "journal", "prod", "/runtime",
                                              "DATABASE_URL")
    with pytest.raises(APIError) as refused:
        sdk.secrets.get_secret_by_name(
            secret_name="DEPLOY_KEY", project_id=project_id, environment_slug="prod",
            secret_path="/ci")
    assert refused.value.status_code == 403


def test_secret_reference_resolves_through_the_environment_map(
    applied: tuple[SandboxWorld, ServedApp, InfisicalResolver],
) -> None:
    world, _, resolver = applied
    value = resolver.resolve("secret/prod/runtime/SESSION_SIGNING_KEY")
    assert value == secret_value(world, "journal", "prod", "/runtime", "SESSION_SIGNING_KEY")
    with pytest.raises(ConvergeError, match="environment staging"):
        resolver.resolve("secret/staging/runtime/SESSION_SIGNING_KEY")


def test_existing_client_secret_cannot_be_read(
    applied: tuple[SandboxWorld, ServedApp, InfisicalResolver],
) -> None:
    _, _, resolver = applied
    with pytest.raises(ConvergeError, match="cannot read an existing client secret"):
        resolver.resolve(f"identity/{TOKEN_SERVICE}/client-secret")


def test_rotation_revokes_only_older_converge_secrets(
    applied: tuple[SandboxWorld, ServedApp, InfisicalResolver],
) -> None:
    world, _, resolver = applied
    resolver.resolve(f"identity/{TOKEN_SERVICE}/client-secret", mint=True)
    first = resolver.minted[TOKEN_SERVICE]
    identity_id = resolver.identity_id(TOKEN_SERVICE)
    resolver.client.create_client_secret(identity_id, description="made by hand")
    resolver.resolve(f"identity/{TOKEN_SERVICE}/client-secret", mint=True)
    kept = resolver.minted[TOKEN_SERVICE]

    assert resolver.revoke_other_client_secrets(TOKEN_SERVICE) == [first]

    docs = InfisicalState(world).list_docs("client_secret", f"{identity_id}/")
    live = {d["description"] for d in docs if not d["isClientSecretRevoked"]}
    assert live == {"made by hand", "converge acme/journal"}
    assert any(d["id"] == kept and not d["isClientSecretRevoked"] for d in docs)
