"""Every case of the hostile-input corpus: one located line, the expected exit code, no
traceback, and nothing outside the workspace created, changed or deleted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult
from tests.hostile.cases import CASES
from tests.hostile.corpus import HostileCase, apply_case, prepare_outside, snapshot


def test_case_names_are_unique() -> None:
    names = [case.name for case in CASES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_input_is_refused_on_one_located_line(
    case: HostileCase, workspace: Path, run_cli: Callable[..., CliResult]
) -> None:
    outside = workspace.parent / "outside"
    prepare_outside(outside)
    before = snapshot(outside)
    apply_case(case, workspace, outside)
    result = run_cli("--workspace", str(workspace), *case.command)
    assert result.exit_code == case.exit_code, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if case.where in line]
    assert any(case.says in line for line in lines), (
        f"no line names {case.where} with {case.says!r}:\n{result.output}")
    assert snapshot(outside) == before, "a file outside the workspace was touched"
