"""Fixtures for the Infisical reconciler: a seeded emulator driven in-process through a
synchronous bridge (``VendorHttp`` is a sync httpx client; ``httpx.ASGITransport`` is async
only), the journal project's desired state rendered from the example workspace, and a
helper that runs observe → diff → apply like the engine does, collecting markers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from converge.changes import Change, order_changes
from converge.desired import DesiredState
from converge.vendors.http import RequestCounter
from converge.vendors.infisical import InfisicalClient, InfisicalReconciler
from converge_sandbox.infisical.app import create_app
from converge_sandbox.infisical.seed import seed
from converge_sandbox.world import SandboxWorld
from tests.support.asgi import InProcessTransport
from tests.support.workspace import copy_example_workspace, render_desired

BASE_URL = "http://infisical.test"


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVERGE_RETRY_FAST", "1")


@pytest.fixture(scope="session")
def journal_desired(tmp_path_factory: pytest.TempPathFactory) -> DesiredState:
    """The journal project's desired state, rendered from a copy of the example workspace."""
    root = copy_example_workspace(tmp_path_factory.mktemp("ws") / "ws")
    return render_desired(root, "journal")


@pytest.fixture
def world() -> SandboxWorld:
    world = SandboxWorld.in_memory()
    seed(world)
    return world


@pytest.fixture
def bridge(world: SandboxWorld) -> InProcessTransport:
    return InProcessTransport(create_app(world), client=("127.0.0.1", 40000))


@dataclass
class Harness:
    world: SandboxWorld
    bridge: InProcessTransport
    markers: dict[str, str] = field(default_factory=dict)
    counters: list[RequestCounter] = field(default_factory=list)

    def client(self, env: dict[str, str] | None = None) -> InfisicalClient:
        """A client with the credentials a team's automation holds (the operator's
        universal-auth client id and secret), unless ``env`` says otherwise."""
        counter = RequestCounter()
        self.counters.append(counter)
        creds = self.world.credentials
        variables = {"INFISICAL_API_URL": BASE_URL,
                     "INFISICAL_CLIENT_ID": creds.infisical_client_id,
                     "INFISICAL_CLIENT_SECRET": creds.infisical_client_secret}
        return InfisicalClient.from_environment(env if env is not None else variables,
                                                counter=counter, transport=self.bridge)

    def reconciler(self, desired: DesiredState, *, adopt: bool = False) -> InfisicalReconciler:
        return InfisicalReconciler(desired, self.client(), adopt=adopt)

    def plan(self, desired: DesiredState, *, adopt: bool = False) -> tuple[Change, ...]:
        reconciler = self.reconciler(desired, adopt=adopt)
        reconciler.observe(markers=self.markers)
        return order_changes(reconciler.diff())

    def apply(self, desired: DesiredState, *, adopt: bool = False) -> tuple[Change, ...]:
        """Observe, diff and apply every writable change in order, recording markers."""
        reconciler = self.reconciler(desired, adopt=adopt)
        reconciler.observe(markers=self.markers)
        changes = order_changes(reconciler.diff())
        for change in changes:
            if change.action.writes:
                applied = reconciler.apply(change)
                if applied.marker:
                    self.markers[change.key] = applied.marker
                elif change.action.value == "delete":
                    self.markers.pop(change.key, None)
        reconciler.close()
        return changes


@pytest.fixture
def harness(world: SandboxWorld, bridge: InProcessTransport) -> Iterator[Harness]:
    yield Harness(world=world, bridge=bridge)
