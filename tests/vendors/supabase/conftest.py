"""Fixtures for the Supabase reconciler: the seeded emulator on one real PostgreSQL server
per session (driven in-process or over loopback), desired states rendered from the example
workspace, an in-test resolver and Vercel publisher, and a harness that plans and applies
like the engine (keeping the journal's markers)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from starlette.types import ASGIApp

from converge.changes import Change
from converge.config.workspace import open_workspace
from converge.desired import DesiredState, DesiredSupabase, parse_desired
from converge.engine.pipeline import decide_project, render_project
from converge.errors import ConvergeError
from converge.sandbox.postgres import PostgresServer, delete_cluster, start_postgres
from converge.sandbox.supabase.app import create_app
from converge.sandbox.supabase.seed import seed
from converge.sandbox.world import SandboxWorld
from converge.vendors.http import RequestCounter
from converge.vendors.supabase.client import SupabaseClient
from converge.vendors.supabase.reconciler import SupabaseReconciler

REPO = Path(__file__).resolve().parents[3]
JOURNAL = "journalprodqzvtkwmrx"
AUTH_EU = "authsvceuwestqzvtkwm"
AUTH_US = "authsvcuseastqzvtkwm"
GITHUB_SECRET_REF = "secret/prod/auth/GITHUB_OAUTH_SECRET"
# Tables the seed leaves without RLS, and tables tests create: reset before every test.
_OPEN_TABLES = {JOURNAL: ("profiles", "tags"), AUTH_EU: ("audit_log", "settings"),
                AUTH_US: ("audit_log", "settings")}
_TEST_TABLES = ('later_notes', 'odd "name')


class SyncASGITransport(httpx.BaseTransport):
    """Lets the synchronous ``VendorHttp`` client call an ASGI app in-process."""

    def __init__(self, app: ASGIApp):
        self.inner = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()

        async def send() -> httpx.Response:
            response = await self.inner.handle_async_request(request)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers,
                                  content=content, request=request)

        return asyncio.run(send())


@dataclass
class Recording(httpx.BaseTransport):
    """Forwards every request and logs ``METHOD path``; ``drop`` loses the responses of the
    requests it selects (the request was served, the client sees a dropped connection)."""

    inner: httpx.BaseTransport
    log: list[str] = field(default_factory=list)
    drop: Callable[[httpx.Request], bool] = lambda request: False
    dropped: int = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.log.append(f"{request.method} {request.url.path}")
        response = self.inner.handle_request(request)
        if self.drop(request):
            self.dropped += 1
            raise httpx.ReadError("connection dropped after the request was sent")
        return response

    def count(self, entry: str) -> int:
        return self.log.count(entry)


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


@dataclass
class DictPublisher:
    """A VariablePublisher backed by a dict (the engine wires Vercel's)."""

    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def published(self) -> Mapping[str, str | None]:
        return {key: v["fp"] for key, v in self.variables.items()}

    def publish(self, key: str, value: str, *, targets: Sequence[str], sensitive: bool) -> str:
        self.calls.append(key)
        material = json.dumps([key, sorted(targets), value, sensitive]).encode()
        fp = hashlib.sha256(material).hexdigest()[:16]
        self.variables[key] = {"value": value, "targets": sorted(targets),
                               "sensitive": sensitive, "fp": fp}
        return fp


def _render(tmp: Path, project: str) -> DesiredState:
    ws = open_workspace(tmp)
    decide_project(ws, project)
    render_project(ws, project)
    out = tmp / ".out" / project
    decision = json.loads((out / "decision.json").read_text())
    artifacts = {p.name: p.read_text() for p in out.iterdir()
                 if p.name not in ("decision.json", "manifest.json")}
    return parse_desired(project, decision["decision_id"], "sha256:test", artifacts)


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, DesiredSupabase]:
    tmp = tmp_path_factory.mktemp("ws") / "ws"
    shutil.copytree(REPO / "examples" / "workspace", tmp,
                    ignore=shutil.ignore_patterns(".out", ".converge", "*.log"))
    found = {}
    for project in ("journal", "auth-service"):
        supabase = _render(tmp, project).supabase
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


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session (as tests/sandbox/conftest.py), stopped and
    removed at the end."""
    data_dir = tmp_path_factory.mktemp("supabase-postgres")
    server = start_postgres(data_dir)
    try:
        yield server
    finally:
        server.stop()
        delete_cluster(data_dir)


@pytest.fixture
def world(postgres_server: PostgresServer) -> SandboxWorld:
    """A freshly seeded world whose databases are back to the seed's RLS state."""
    sandbox = SandboxWorld.in_memory(database=postgres_server)
    seed(sandbox)
    for ref, tables in _OPEN_TABLES.items():
        with database(postgres_server, ref) as conn:
            for table in _TEST_TABLES:
                conn.execute(psycopg.sql.SQL("drop table if exists public.{}").format(
                    psycopg.sql.Identifier(table)))
            for table in tables:
                conn.execute(psycopg.sql.SQL(
                    "alter table public.{} disable row level security").format(
                    psycopg.sql.Identifier(table)))
    return sandbox


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
    transport: Recording | None = None
    base_url: str = "http://supabase.test"
    env: dict[str, str] = field(default_factory=dict)

    def client(self, *, token: str | None = None) -> SupabaseClient:
        self.counter = RequestCounter()
        self.transport = Recording(SyncASGITransport(create_app(self.world)))
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

    def auth_config(self, ref: str) -> dict[str, Any]:
        """The auth config as the vendor answers GET (through the emulator, not converge)."""
        transport = SyncASGITransport(create_app(self.world))
        token = self.world.credentials.supabase_access_token
        with httpx.Client(transport=transport, base_url=self.base_url,
                          headers={"Authorization": f"Bearer {token}"}) as http:
            response = http.get(f"/v1/projects/{ref}/config/auth")
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def harness(world: SandboxWorld, resolver: DictResolver, publisher: DictPublisher) -> Iterator[
        Harness]:
    yield Harness(world=world, resolver=resolver, publisher=publisher)


def by_label(changes: Sequence[Change]) -> dict[str, Change]:
    return {c.label: c for c in changes}
