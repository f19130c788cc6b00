"""Fixtures for the Vercel reconciler: a seeded emulator driven in-process, desired states
rendered from the example workspace, an in-test reference resolver, helpers to plan/apply."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import httpx
import pytest

from converge.changes import Change
from converge.desired import DesiredState, DesiredVercel
from converge.errors import ConvergeError
from converge.policies.secrets import public_value_problem
from converge.vendors.base import AppliedChange
from converge.vendors.http import RequestCounter
from converge.vendors.vercel.client import VercelClient
from converge.vendors.vercel.reconciler import VercelReconciler
from converge_sandbox.vercel import seed as vercel_seed
from converge_sandbox.vercel.app import create_app
from converge_sandbox.vercel.models import EnvRecord
from converge_sandbox.vercel.state import VercelState
from converge_sandbox.world import SandboxWorld
from tests.support.asgi import InProcessTransport
from tests.support.workspace import copy_example_workspace, render_desired

FINGERPRINT_KEY = b"test-fingerprint-key"


@dataclass
class DictResolver:
    """Resolves references from a dict; mints a fresh value for client secrets."""

    values: dict[str, str] = field(default_factory=dict)
    mints: list[str] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)  # ref -> id of the last mint
    released: list[tuple[str, str]] = field(default_factory=list)

    def resolve(self, ref: str, *, mint: bool = False) -> str:
        if mint:
            self.mints.append(ref)
            self.values[ref] = "cs_" + secrets.token_hex(16)
            self.ids[ref] = f"csid-{len(self.mints)}"
            return self.values[ref]
        self.reads.append(ref)
        if ref not in self.values:
            raise ConvergeError(f"no value for {ref}")
        return self.values[ref]

    def stamp(self, ref: str) -> str | None:
        return None

    def minted_id(self, ref: str) -> str | None:
        return self.ids.get(ref)

    def release(self, ref: str, credential_id: str, *, reason: str) -> None:
        self.released.append((ref, credential_id))


def public_value_check(key: str, value: str) -> str | None:
    """The policies' check, as the engine wires it."""
    return public_value_problem(key, value)


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, DesiredState]:
    root = copy_example_workspace(tmp_path_factory.mktemp("ws") / "ws")
    return {p: render_desired(root, p) for p in ("journal", "analytics")}


@pytest.fixture
def journal(rendered: dict[str, DesiredState]) -> DesiredVercel:
    vercel = rendered["journal"].vercel
    assert vercel is not None
    return vercel


@pytest.fixture
def analytics(rendered: dict[str, DesiredState]) -> DesiredVercel:
    vercel = rendered["analytics"].vercel
    assert vercel is not None
    return vercel


@pytest.fixture
def world() -> SandboxWorld:
    w = SandboxWorld.in_memory()
    vercel_seed.seed(w)
    return w


def refs_of(desired: DesiredVercel) -> dict[str, str]:
    """Plan-time readable values for every non-minted reference of ``desired``."""
    return {
        v.ref: f"value-of-{v.ref.split('/')[1]}"
        for v in desired.variables
        if v.ref and not v.ref.endswith("/client-secret")
    }


@pytest.fixture
def resolver(journal: DesiredVercel, analytics: DesiredVercel) -> DictResolver:
    return DictResolver(values={**refs_of(journal), **refs_of(analytics)})


@dataclass
class Harness:
    """Builds reconcilers against one emulator world and keeps the journal's markers."""

    world: SandboxWorld
    resolver: DictResolver
    project: str
    markers: dict[str, str] = field(default_factory=dict)
    counter: RequestCounter = field(default_factory=RequestCounter)
    transport: httpx.BaseTransport | None = None
    base_url: str = "http://vercel.test"
    fingerprint_key: bytes = FINGERPRINT_KEY  # the run's key (a team's, or a laptop's)

    def client(self, *, token: str | None = None) -> VercelClient:
        self.counter = RequestCounter()
        transport = self.transport or InProcessTransport(create_app(self.world))
        env = {
            "VERCEL_TOKEN": token if token is not None else self.world.credentials.vercel_token,
            "VERCEL_API_URL": self.base_url,
        }
        return VercelClient.from_environment(env, counter=self.counter, transport=transport)

    def reconciler(self, desired: DesiredVercel, *, adopt: bool = False,
                   token: str | None = None) -> VercelReconciler:
        return VercelReconciler(
            desired, self.client(token=token), project=self.project,
            resolver=self.resolver, fingerprint_key=self.fingerprint_key,
            public_value_check=public_value_check, adopt=adopt,
        )

    def plan(self, desired: DesiredVercel, *, adopt: bool = False) -> Sequence[Change]:
        rec = self.reconciler(desired, adopt=adopt)
        rec.observe(markers=self.markers)
        return rec.diff()

    def apply(self, desired: DesiredVercel, *, adopt: bool = False) -> list[Change]:
        """Plan and apply like the engine: record the marker of every write."""
        rec = self.reconciler(desired, adopt=adopt)
        rec.observe(markers=self.markers)
        changes = [c for c in rec.diff() if c.action.writes]
        outcomes = rec.apply_batch(changes)
        for change, outcome in zip(changes, outcomes, strict=True):
            if isinstance(outcome, ConvergeError):
                raise outcome
            assert isinstance(outcome, AppliedChange)
            if outcome.marker is None:
                self.markers.pop(change.key, None)
            else:
                self.markers[change.key] = outcome.marker
        rec.close()
        return changes

    def envs(self, vercel_project: str) -> list[EnvRecord]:
        return VercelState(self.world).envs(vercel_seed.project_id(vercel_project))

    def env(self, vercel_project: str, key: str,
            targets: Sequence[str] | None = None) -> EnvRecord:
        found = [
            e for e in self.envs(vercel_project)
            if e.key == key and (targets is None or sorted(e.target) == sorted(targets))
        ]
        assert len(found) == 1, f"expected one {key}, found {len(found)}"
        return found[0]


@pytest.fixture
def harness(world: SandboxWorld, resolver: DictResolver) -> Harness:
    return Harness(world=world, resolver=resolver, project="journal")


def with_variable(desired: DesiredVercel, key: str, **changes: object) -> DesiredVercel:
    """``desired`` with the variables named ``key`` changed (dataclasses.replace)."""
    variables = tuple(
        dataclasses.replace(v, **changes) if v.key == key else v  # type: ignore[arg-type]
        for v in desired.variables
    )
    return dataclasses.replace(desired, variables=variables)


def without_variable(desired: DesiredVercel, key: str) -> DesiredVercel:
    return dataclasses.replace(
        desired, variables=tuple(v for v in desired.variables if v.key != key)
    )


def by_name(changes: Sequence[Change]) -> Mapping[str, Change]:
    return {c.name: c for c in changes}

