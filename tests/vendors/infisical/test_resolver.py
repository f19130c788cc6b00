"""The Infisical reference resolver over real loopback HTTP: a minted client secret lets
the official Python SDK log in as the identity, read the secrets its role allows and be
refused the others; client ids and secret references resolve; a mint carries a journaled
nonce, and one whose answer was lost is found by it, revoked and minted again."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from infisical_sdk import InfisicalSDKClient  # type: ignore[import-untyped]
from infisical_sdk.infisical_requests import APIError  # type: ignore[import-untyped]

from converge.changes import order_changes
from converge.desired import DesiredState
from converge.errors import ConvergeError, VendorError
from converge.vendors.base import CredentialRef
from converge.vendors.http import RequestCounter
from converge.vendors.infisical import InfisicalClient, InfisicalReconciler, InfisicalResolver
from converge_sandbox.infisical.app import create_app
from converge_sandbox.infisical.seed import project_id_by_slug, secret_value, seed
from converge_sandbox.infisical.state import InfisicalState
from converge_sandbox.serving import ServedApp, serve_in_thread
from converge_sandbox.world import SandboxWorld
from tests.support.asgi import InProcessTransport

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


@dataclass
class Ledger:
    """A ``CredentialLedger`` that remembers what it was told."""

    calls: list[tuple[str, str]] = field(default_factory=list)
    minted: int = 0

    def mint_started(self, *, system: str, kind: str, parent_id: str, parent_name: str) -> str:
        self.minted += 1
        self.calls.append(("mint", parent_name))
        return f"run-1/{self.minted}"

    def mint_answered(self, nonce: str, credential_id: str) -> None:
        self.calls.append(("answered", nonce))

    def revocation_due(self, credential: CredentialRef, *, reason: str,
                       nonce: str | None = None) -> None:
        self.calls.append(("due", nonce or credential.credential_id))

    def revoked(self, credential: CredentialRef) -> None:
        self.calls.append(("revoked", credential.credential_id))


def _lossy_resolver(
    world: SandboxWorld, drops: int
) -> tuple[InfisicalResolver, InProcessTransport]:
    """A resolver whose first ``drops`` client-secret creations lose their answer."""
    transport = InProcessTransport(
        create_app(world), client=("127.0.0.1", 40000), max_drops=drops,
        drop=lambda r: r.method == "POST" and r.url.path.endswith("/client-secrets"),
    )
    client = InfisicalClient.from_environment(
        {"INFISICAL_API_URL": "http://infisical.test",
         "INFISICAL_TOKEN": world.credentials.infisical_token},
        counter=RequestCounter(), transport=transport,
    )
    return InfisicalResolver(client, organization="acme", project="journal",
                             infisical_project="journal", environments={"prod": "prod"}), transport


def _secrets(world: SandboxWorld, resolver: InfisicalResolver) -> list[dict[str, object]]:
    return InfisicalState(world).list_docs(
        "client_secret", f"{resolver.identity_id(TOKEN_SERVICE)}/")


def test_a_minted_secret_carries_its_journaled_nonce(
    applied: tuple[SandboxWorld, ServedApp, InfisicalResolver],
) -> None:
    world, _, resolver = applied
    resolver.ledger = Ledger()
    resolver.resolve(f"identity/{TOKEN_SERVICE}/client-secret", mint=True)

    [doc] = _secrets(world, resolver)
    assert doc["description"] == "converge acme/journal mint=run-1/1"
    assert resolver.ledger.calls == [("mint", TOKEN_SERVICE), ("answered", "run-1/1")]


@pytest.mark.parametrize("drops", [1, 2])
def test_a_mint_whose_answer_was_lost_is_found_by_its_nonce_revoked_and_minted_again(
    applied: tuple[SandboxWorld, ServedApp, InfisicalResolver], drops: int,
) -> None:
    world, _, _ = applied
    resolver, transport = _lossy_resolver(world, drops)
    resolver.ledger = ledger = Ledger()

    value = resolver.resolve(f"identity/{TOKEN_SERVICE}/client-secret", mint=True)

    assert transport.dropped == drops
    docs = _secrets(world, resolver)
    live = [d for d in docs if not d["isClientSecretRevoked"]]
    assert [d["id"] for d in live] == [resolver.minted[TOKEN_SERVICE]]
    assert len(docs) == drops + 1 and str(live[0]["clientSecretPrefix"]) == value[:4]
    lost = [d["id"] for d in docs if d["isClientSecretRevoked"]]
    assert [c for c in ledger.calls if c[0] == "revoked"] == [("revoked", i) for i in lost]
    assert ledger.calls[-1] == ("answered", f"run-1/{drops + 1}")


def test_minting_gives_up_after_three_lost_answers_leaving_nothing_live(
    applied: tuple[SandboxWorld, ServedApp, InfisicalResolver],
) -> None:
    world, _, _ = applied
    resolver, _ = _lossy_resolver(world, 3)

    with pytest.raises(VendorError, match="lost the answer to 3 client-secret creations"):
        resolver.resolve(f"identity/{TOKEN_SERVICE}/client-secret", mint=True)
    docs = _secrets(world, resolver)
    assert len(docs) == 3 and all(d["isClientSecretRevoked"] for d in docs)


def test_issued_tells_converge_minted_secrets_from_others(
    applied: tuple[SandboxWorld, ServedApp, InfisicalResolver],
) -> None:
    _, _, resolver = applied
    resolver.resolve(f"identity/{TOKEN_SERVICE}/client-secret", mint=True)
    identity_id = resolver.identity_id(TOKEN_SERVICE)
    resolver.client.create_client_secret(identity_id, description="made by hand")
    resolver.client.create_client_secret(identity_id, description="converge acme/journal")
    resolver.client.create_client_secret(identity_id, description="converge acme/other")

    found = {(c.minted_here, c.nonce is not None) for c in resolver.issued([TOKEN_SERVICE,
                                                                            "no-such@x-prod"])}
    assert sorted(found) == [(False, False), (True, False), (True, True)]
    assert sum(c.minted_here for c in resolver.issued([TOKEN_SERVICE])) == 2
