"""Fixtures for the Supabase reconciler: the seeded emulator on one real PostgreSQL server
per session (driven in-process or over loopback), desired states rendered from the example
workspace, an in-test resolver and Vercel publisher, and a harness that plans and applies
like the engine (keeping the journal's markers)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
import pytest

from converge.changes import Change
from converge.desired import DesiredSupabase
from converge.errors import ConvergeError
from converge.vendors.base import Publication, PublishedState
from converge.vendors.http import RequestCounter
from converge.vendors.supabase.client import SupabaseClient
from converge.vendors.supabase.reconciler import SupabaseReconciler
from converge_sandbox.postgres import PostgresServer
from converge_sandbox.supabase.app import create_app
from converge_sandbox.supabase.seed import seed
from converge_sandbox.world import SandboxWorld
from tests.support.asgi import InProcessTransport
from tests.support.workspace import copy_example_workspace, render_desired

JOURNAL = "journalprodqzvtkwmrx"
AUTH_EU = "authsvceuwestqzvtkwm"
AUTH_US = "authsvcuseastqzvtkwm"
GITHUB_SECRET_REF = "secret/prod/auth/GITHUB_OAUTH_SECRET"
# Tables the seed leaves without RLS, and tables tests create: reset before every test.
_OPEN_TABLES = {JOURNAL: ("profiles", "tags"), AUTH_EU: ("audit_log", "settings"),
                AUTH_US: ("audit_log", "settings")}
_TEST_TABLES = ('later_notes', 'odd "name')


@dataclass
class DictResolver:
    """Resolves references from a dict (as Infisical would); unknown ones are unreadable."""

    values: dict[str, str] = field(default_factory=dict)
    reads: list[tuple[str, bool]] = field(default_factory=list)

    def resolve(self, ref: str, *, mint: bool = False) -> str:
        self.reads.append((ref, mint))
        if ref not in self.values:
            raise ConvergeError(f"no value for {ref}")
        return self.values[ref]

    def stamp(self, ref: str) -> str | None:
        return None  # no list-only change marker: Supabase compares secrets by HMAC

    def minted_id(self, ref: str) -> str | None:
        return None  # Supabase never mints

    def release(self, ref: str, credential_id: str, *, reason: str) -> None:
        raise AssertionError("Supabase never mints, so it never releases")


def _publish_fp(key: str, targets: Sequence[str], value: str, sensitive: bool) -> str:
    material = json.dumps([key, sorted(targets), value, sensitive]).encode()
    return hashlib.sha256(material).hexdigest()[:16]


@dataclass
class DictPublisher:
    """A VariablePublisher backed by a dict (the engine wires Vercel's). A variable whose
    ``kid`` is set to another key id than ``KEY_ID`` compares as unverifiable."""

    KEY_ID = "run-key"
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def compare(self, wanted: Sequence[Publication]) -> Mapping[str, PublishedState]:
        found: dict[str, PublishedState] = {}
        for item in wanted:
            held = self.variables.get(item.key)
            if held is None:
                found[item.key] = PublishedState("missing", "not published yet")
            elif held.get("kid", self.KEY_ID) != self.KEY_ID:
                found[item.key] = PublishedState("unverifiable", "fingerprint key differs")
            elif held["fp"] == _publish_fp(item.key, item.targets, item.value, item.sensitive):
                found[item.key] = PublishedState("in_sync")
            else:
                found[item.key] = PublishedState("differs", "the published value is out of date")
        return found

    def publish(self, key: str, value: str, *, targets: Sequence[str], sensitive: bool) -> str:
        self.calls.append(key)
        fp = _publish_fp(key, targets, value, sensitive)
        self.variables[key] = {"value": value, "targets": sorted(targets),
                               "sensitive": sensitive, "fp": fp}
        return fp


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, DesiredSupabase]:
    root = copy_example_workspace(tmp_path_factory.mktemp("ws") / "ws")
    found = {}
    for project in ("journal", "auth-service"):
        supabase = render_desired(root, project).supabase
        assert supabase is not None
        found[project] = supabase
    return found


@pytest.fixture
def journal(rendered: dict[str, DesiredSupabase]) -> DesiredSupabase:
    return rendered["journal"]


@pytest.fixture
def auth_service(rendered: dict[str, DesiredSupabase]) -> DesiredSupabase:
    return rendered["auth-service"]


def database(server: PostgresServer, ref: str) -> psycopg.Connection[tuple[Any, ...]]:
    return psycopg.connect(server.database_url(ref), autocommit=True)


def rls_of(server: PostgresServer, ref: str, schema: str = "public") -> dict[str, bool]:
    """Table → relrowsecurity, read with psycopg straight from the project's database."""
    with database(server, ref) as conn:
        rows = conn.execute(
            "select c.relname, c.relrowsecurity from pg_class c "
            "join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = %s and c.relkind in ('r', 'p')", (schema,)
        ).fetchall()
    return {str(name): bool(rls) for name, rls in rows}


def reset_databases(server: PostgresServer) -> None:
    """Back to the seed's tables and RLS state: the server is shared with the emulator's
    own tests (tests/conftest.py), which expect the seed's state."""
    for ref, tables in _OPEN_TABLES.items():
        with database(server, ref) as conn:
            for table in _TEST_TABLES:
                conn.execute(psycopg.sql.SQL("drop table if exists public.{}").format(
                    psycopg.sql.Identifier(table)))
            for table in tables:
                conn.execute(psycopg.sql.SQL(
                    "alter table public.{} disable row level security").format(
                    psycopg.sql.Identifier(table)))


@pytest.fixture
def world(postgres_server: PostgresServer) -> Iterator[SandboxWorld]:
    """A freshly seeded world whose databases are in the seed's RLS state, before and
    after the test."""
    sandbox = SandboxWorld.in_memory(database=postgres_server)
    seed(sandbox)
    reset_databases(postgres_server)
    yield sandbox
    reset_databases(postgres_server)


@pytest.fixture
def resolver() -> DictResolver:
    return DictResolver(values={GITHUB_SECRET_REF: "gh-oauth-secret-one"})


@pytest.fixture
def publisher() -> DictPublisher:
    return DictPublisher()


@dataclass
class Harness:
    """Builds reconcilers against one emulator world and keeps the journal's markers."""

    world: SandboxWorld
    resolver: DictResolver
    publisher: DictPublisher
    markers: dict[str, str] = field(default_factory=dict)
    counter: RequestCounter = field(default_factory=RequestCounter)
    transport: InProcessTransport | None = None
    base_url: str = "http://supabase.test"
    env: dict[str, str] = field(default_factory=dict)

    def client(self, *, token: str | None = None) -> SupabaseClient:
        self.counter = RequestCounter()
        self.transport = InProcessTransport(create_app(self.world))
        env = {
            "SUPABASE_ACCESS_TOKEN": token if token is not None
            else self.world.credentials.supabase_access_token,
            "SUPABASE_API_URL": self.base_url,
            **self.env,
        }
        return SupabaseClient.from_environment(env, counter=self.counter,
                                               transport=self.transport)

    def reconciler(self, desired: DesiredSupabase, *, token: str | None = None,
                   ) -> SupabaseReconciler:
        return SupabaseReconciler(desired, self.client(token=token), resolver=self.resolver,
                                  publisher=self.publisher)

    def plan(self, desired: DesiredSupabase) -> Sequence[Change]:
        rec = self.reconciler(desired)
        try:
            rec.observe(markers=self.markers)
            return rec.diff()
        finally:
            rec.close()

    def apply(self, desired: DesiredSupabase,
              rec: SupabaseReconciler | None = None) -> list[Change]:
        """Plan and apply like the engine: record the marker of every write."""
        rec = rec or self.reconciler(desired)
        rec.observe(markers=self.markers)
        changes = list(rec.diff())
        for change in changes:
            outcome = rec.apply(change)
            if outcome.marker is None:
                self.markers.pop(change.key, None)
            else:
                self.markers[change.key] = outcome.marker
        return changes

    def vendor(self, method: str, path: str, json: Any = None) -> dict[str, Any]:
        """One Management API call as a person would make it (through the emulator, not
        converge), which must succeed."""
        transport = InProcessTransport(create_app(self.world))
        token = self.world.credentials.supabase_access_token
        with httpx.Client(transport=transport, base_url=self.base_url,
                          headers={"Authorization": f"Bearer {token}"}) as http:
            response = http.request(method, path, json=json)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def auth_config(self, ref: str) -> dict[str, Any]:
        """The auth config as the vendor answers GET."""
        return self.vendor("GET", f"/v1/projects/{ref}/config/auth")

    def db_schema(self, ref: str) -> str:
        """The exposed schemas as the vendor answers ``GET /postgrest``."""
        return str(self.vendor("GET", f"/v1/projects/{ref}/postgrest")["db_schema"])

    def expose(self, ref: str, db_schema: str) -> None:
        """An out-of-band edit of the exposed schemas (the dashboard's Data API page)."""
        self.vendor("PATCH", f"/v1/projects/{ref}/postgrest", json={"db_schema": db_schema})


@pytest.fixture
def harness(world: SandboxWorld, resolver: DictResolver, publisher: DictPublisher) -> Iterator[
        Harness]:
    yield Harness(world=world, resolver=resolver, publisher=publisher)


def by_label(changes: Sequence[Change]) -> dict[str, Change]:
    return {c.label: c for c in changes}
