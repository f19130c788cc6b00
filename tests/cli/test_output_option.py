"""``--output`` is declared once (cli/options.py) and means the same before or after the
command's name; the command's own choice wins, and each command keeps its own formats."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import CliResult


def test_output_before_or_after_the_command_is_the_same_and_the_command_wins(
    workspace: Path, run_cli: Callable[..., CliResult]
) -> None:
    ws = ("--workspace", str(workspace))
    before = run_cli(*ws, "--output", "json", "validate", "journal")
    after = run_cli(*ws, "validate", "journal", "--output", "json")
    overridden = run_cli(*ws, "--output", "json", "validate", "journal", "--output", "text")

    assert before.exit_code == after.exit_code == overridden.exit_code == 0, before.output
    assert json.loads(before.stdout) == json.loads(after.stdout)
    assert json.loads(after.stdout)["projects"][0]["valid"] is True
    assert overridden.stdout.strip() == "journal: valid"


def test_each_command_keeps_its_own_formats(
    workspace: Path, run_cli: Callable[..., CliResult]
) -> None:
    ws = ("--workspace", str(workspace))
    refused_by_the_group = run_cli(*ws, "--output", "markdown", "validate", "journal")
    refused_by_health = run_cli(*ws, "health", "journal", "--output", "markdown")

    for refused in (refused_by_the_group, refused_by_health):
        assert refused.exit_code == 64  # a usage error, never "changes"
        assert "Invalid value for '--output'" in refused.stderr
