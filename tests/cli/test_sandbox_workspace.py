"""`converge --workspace DIR sandbox …` acts on DIR's sandbox, like every other command."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import CliResult


def test_group_workspace_option_reaches_sandbox_commands(
    workspace: Path, run_cli: Callable[..., CliResult]
) -> None:
    result = run_cli("--workspace", str(workspace), "sandbox", "reset")
    assert result.exit_code == 0, result.output
    assert str(workspace / ".converge" / "sandbox") in result.output


def test_sandbox_env_without_a_running_sandbox_is_one_clear_error(
    workspace: Path, run_cli: Callable[..., CliResult]
) -> None:
    result = run_cli("--workspace", str(workspace), "sandbox", "env")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "no sandbox is running" in result.output
