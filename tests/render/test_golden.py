"""The example projects render to the committed golden artifacts, byte for byte."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from converge.config.workspace import open_workspace
from converge.engine.pipeline import decide_project, render_project

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
