"""Fixtures shared by the sandbox tests: one real PostgreSQL server per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from converge.sandbox.postgres import PostgresServer, delete_cluster, start_postgres


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole session, stopped and removed at the end."""
    data_dir = tmp_path_factory.mktemp("sandbox-postgres")
    server = start_postgres(data_dir)
    try:
        yield server
    finally:
        server.stop()
        delete_cluster(data_dir)
