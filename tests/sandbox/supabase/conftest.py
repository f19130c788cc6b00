"""Fixtures for the Supabase emulator: a seeded world on the session's PostgreSQL, served
in-process (``client``) or on a loopback port (``served``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from converge_sandbox.postgres import PostgresServer
from converge_sandbox.serving import ServedApp, serve_in_thread
from converge_sandbox.supabase.app import create_app
from converge_sandbox.supabase.seed import seed
from converge_sandbox.world import SandboxWorld

JOURNAL = "journalprodqzvtkwmrx"
AUTH_EU = "authsvceuwestqzvtkwm"
CLIENTS = Path(__file__).resolve().parents[2] / "conformance" / "clients" / "node_modules"


@pytest.fixture
def world(postgres_server: PostgresServer) -> SandboxWorld:
    """A freshly seeded world. The project databases are shared by the session, so tests
    that change a table create their own table or restore what they changed."""
    sandbox = SandboxWorld.in_memory(database=postgres_server)
    seed(sandbox)
    return sandbox


@pytest.fixture
async def client(world: SandboxWorld) -> AsyncIterator[httpx.AsyncClient]:
    """An authenticated in-process client of the emulator."""
    headers = {"Authorization": f"Bearer {world.credentials.supabase_access_token}"}
    transport = httpx.ASGITransport(app=create_app(world))
    async with httpx.AsyncClient(transport=transport, base_url="http://supabase.test",
                                 headers=headers) as http:
        yield http


@pytest.fixture
def served(world: SandboxWorld) -> Iterator[ServedApp]:
    """The emulator on a real loopback port."""
    with serve_in_thread(create_app(world)) as app:
        yield app


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
