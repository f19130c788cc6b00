"""Fixtures shared by every test: a private copy of the example workspace, a CLI runner,
and one real PostgreSQL server per test session (started only if a test asks for it)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from converge_sandbox.postgres import PostgresServer, delete_cluster, start_postgres

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_WORKSPACE = REPO / "examples" / "workspace"

# converge behaves differently on a CI runner (it refuses to invent a fingerprint key) and
# with a team key: the suite sets CI and CONVERGE_FINGERPRINT_KEY itself where it tests
# them, and never inherits them from the runner (or laptop) it runs on.
for _inherited in ("CI", "CONVERGE_FINGERPRINT_KEY"):
    os.environ.pop(_inherited, None)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A writable copy of examples/workspace (without any rendered output)."""
    target = tmp_path / "ws"
    shutil.copytree(
        EXAMPLE_WORKSPACE, target, ignore=shutil.ignore_patterns(".out", ".converge", "*.log")
    )
    return target


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def run_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., CliResult]:
    """Run ``converge ARGS`` in-process through the real entry point (errors, exit codes)."""
    from converge.cli.main import main

    monkeypatch.setenv("NO_COLOR", "1")

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run


@pytest.fixture(scope="session", autouse=True)
def _private_postgres_runtime_dir() -> Iterator[None]:
    """Clusters that sandboxes keep outside their state folder (when the unprivileged
    postgres user cannot reach it, as under pytest's 0700 tmp folders) go to a folder of
    this test session, removed at its end — including those of converge subprocesses."""
    from converge_sandbox.postgres import ENV_RUNTIME_DIR

    base = Path(tempfile.mkdtemp(prefix="converge-test-pg-", dir="/var/tmp"))
    base.chmod(0o711)  # the postgres user must traverse it to reach its own cluster
    previous = os.environ.get(ENV_RUNTIME_DIR)
    os.environ[ENV_RUNTIME_DIR] = str(base)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(ENV_RUNTIME_DIR, None)
        else:
            os.environ[ENV_RUNTIME_DIR] = previous
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole session, stopped and removed at the end. Its
    databases are shared: a test that changes one puts it back (or works on its own table)."""
    data_dir = tmp_path_factory.mktemp("postgres")
    server = start_postgres(data_dir)
    try:
        yield server
    finally:
        server.stop()
        delete_cluster(data_dir)
