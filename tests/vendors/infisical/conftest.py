"""Fixtures for the Infisical reconciler: a seeded emulator driven in-process through a
synchronous bridge (``VendorHttp`` is a sync httpx client; ``httpx.ASGITransport`` is async
only), the journal project's desired state rendered from the example workspace, and a
helper that runs observe → diff → apply like the engine does, collecting markers."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from converge.changes import Change, order_changes
from converge.config.workspace import open_workspace
from converge.desired import DesiredState, parse_desired
from converge.engine.pipeline import decide_project, render_project
from converge.sandbox.infisical.app import create_app
from converge.sandbox.infisical.seed import seed
from converge.sandbox.world import SandboxWorld
from converge.vendors.http import RequestCounter
from converge.vendors.infisical import InfisicalClient, InfisicalReconciler

REPO = Path(__file__).resolve().parents[3]
BASE_URL = "http://infisical.test"


@dataclass
class BridgeTransport(httpx.BaseTransport):
    """Runs each request through the ASGI app on a private event loop; logs
    ``(method, path)`` and can drop the answer of a request after the app handled it."""

    app: Starlette
    log: list[tuple[str, str]] = field(default_factory=list)
    drop: Callable[[httpx.Request], bool] = lambda request: False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.log.append((request.method, request.url.path))

        async def send() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            transport = httpx.ASGITransport(app=self.app, client=("127.0.0.1", 40000))
            response = await transport.handle_async_request(request)
            body = await response.aread()
            return response.status_code, response.headers.raw, body

        status, headers, body = asyncio.run(send())
        if self.drop(request):
            raise httpx.ReadError("connection dropped after the request was handled")
        return httpx.Response(status, headers=headers, content=body)

    def count(self, method: str, path_part: str) -> int:
        return sum(1 for m, p in self.log if m == method and path_part in p)


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVERGE_RETRY_FAST", "1")


@pytest.fixture(scope="session")
def journal_desired(tmp_path_factory: pytest.TempPathFactory) -> DesiredState:
    """The journal project's desired state, rendered from a copy of the example workspace."""
    root = tmp_path_factory.mktemp("ws") / "ws"
    shutil.copytree(REPO / "examples" / "workspace", root,
                    ignore=shutil.ignore_patterns(".out", ".converge", "*.log"))
    ws = open_workspace(root)
    decide_project(ws, "journal")
    result = render_project(ws, "journal")
    texts = {name: (result.out_dir / name).read_text() for name in result.files
             if name not in ("decision.json", "manifest.json")}
    return parse_desired("journal", result.decision_id, "test", texts)


@pytest.fixture
def world() -> SandboxWorld:
    world = SandboxWorld.in_memory()
    seed(world)
    return world


@pytest.fixture
def bridge(world: SandboxWorld) -> BridgeTransport:
    return BridgeTransport(app=create_app(world))


@dataclass
class Harness:
    world: SandboxWorld
    bridge: BridgeTransport
    markers: dict[str, str] = field(default_factory=dict)
    counters: list[RequestCounter] = field(default_factory=list)

    def client(self, env: dict[str, str] | None = None) -> InfisicalClient:
        counter = RequestCounter()
        self.counters.append(counter)
        variables = {"INFISICAL_API_URL": BASE_URL,
                     "INFISICAL_TOKEN": self.world.credentials.infisical_token}
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
def harness(world: SandboxWorld, bridge: BridgeTransport) -> Iterator[Harness]:
    yield Harness(world=world, bridge=bridge)
