"""Fixtures for the engine tests: one journal per backend (SQLite file, real PostgreSQL).

The PostgreSQL server is started once per session (the sandbox's own manager) and each
test gets a fresh database on it, so the same test runs against both backends.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from converge.engine.journal import Journal, open_journal
from converge.errors import SandboxError
from converge_sandbox.postgres import PostgresServer, delete_cluster, start_postgres


@pytest.fixture(scope="session")
def journal_pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A PostgreSQL server for the session, stopped and removed at the end."""
    data_dir = tmp_path_factory.mktemp("journal-postgres")
    try:
        server = start_postgres(data_dir)
    except SandboxError as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"no PostgreSQL server could be started: {exc.message}")
    try:
        yield server
    finally:
        server.stop()
        delete_cluster(data_dir)


@pytest.fixture(params=["sqlite", "postgresql"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A ``state`` setting for a fresh journal: a relative SQLite path or a PG URL."""
    if request.param == "sqlite":
        return ".converge/state.db"
    server: PostgresServer = request.getfixturevalue("journal_pg")
    return server.database_url("jt_" + uuid.uuid4().hex[:16])


@pytest.fixture
def workspace_root(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    return root


@pytest.fixture
def journal(state: str, workspace_root: Path) -> Iterator[Journal]:
    with open_journal(state, workspace_root) as opened:
        yield opened
