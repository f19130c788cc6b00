"""Fixtures shared by the ops tests. Keep them few and prefixed by their feature
(``drift_*``, ``health_*``, …): several features test here."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import E2E, start_e2e


def _applied_world(tmp_path_factory: pytest.TempPathFactory, name: str) -> E2E:
    from converge.cli.main import cli
    from converge.cli.ops_drift import register

    register(cli)  # until cli/main.py registers the ops commands itself
    world = start_e2e(tmp_path_factory.mktemp(name) / "ws", projects=("journal",))
    try:
        applied = world.cli("apply", "journal")
        assert applied.exit_code == 0, applied.output
    except BaseException:
        world.sandbox.stop()
        raise
    return world


@pytest.fixture(scope="module")
def drift_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2E]:
    """A workspace with journal decided, rendered and applied, served by its own sandbox
    (real loopback HTTP, real PostgreSQL) for the test module; stopped at the end."""
    world = _applied_world(tmp_path_factory, "drift")
    try:
        yield world
    finally:
        world.sandbox.stop()


@pytest.fixture(scope="module")
def health_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2E]:
    """Like ``drift_world``, for the health tests (a sandbox of their own)."""
    world = _applied_world(tmp_path_factory, "health")
    try:
        yield world
    finally:
        world.sandbox.stop()
