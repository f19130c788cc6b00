"""The example projects render to the committed golden artifacts, byte for byte."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from converge.config.workspace import open_workspace
from converge.engine.pipeline import decide_project, render_project
from tests.conftest import CliResult

GOLDEN = Path(__file__).parent / "golden"
TODAY = dt.date(2026, 11, 26)


@pytest.mark.parametrize("project", ["journal", "analytics", "auth-service"])
def test_example_project_matches_golden_artifacts(workspace: Path, project: str) -> None:
    ws = open_workspace(workspace)
    decide_project(ws, project, today=TODAY)
    render_project(ws, project)
    out = workspace / ".out" / project
    expected = sorted(p.name for p in (GOLDEN / project).iterdir())
    assert sorted(p.name for p in out.iterdir()) == expected
    for name in expected:
        assert (out / name).read_bytes() == (GOLDEN / project / name).read_bytes(), name


def test_committed_example_artifacts_are_current(run_cli: Callable[..., CliResult]) -> None:
    """examples/workspace/.out/ (committed, as DESIGN says to) matches a fresh render."""
    from tests.conftest import EXAMPLE_WORKSPACE

    result = run_cli("--workspace", str(EXAMPLE_WORKSPACE), "render", "--all", "--check")
    assert result.exit_code == 0, result.output
