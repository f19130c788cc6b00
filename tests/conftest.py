"""Fixtures shared by every test: a private copy of the example workspace, a CLI runner."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_WORKSPACE = REPO / "examples" / "workspace"


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
