"""docs/cli.md is the commands' own --help, regenerated: it cannot drift from the code."""

from __future__ import annotations

import importlib.util

from tests.conftest import REPO


def test_cli_reference_matches_help_texts() -> None:
    spec = importlib.util.spec_from_file_location(
        "gen_cli_docs", REPO / "scripts" / "gen_cli_docs.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = module.render()
    current = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    assert current == expected, "run: .venv/bin/python scripts/gen_cli_docs.py"


def test_every_command_help_has_an_example() -> None:
    import click

    from converge.cli.main import cli

    missing = []
    for name, command in cli.commands.items():
        if isinstance(command, click.Group):
            continue
        if "Example" not in (command.help or ""):
            missing.append(name)
    assert not missing, f"commands without an example in --help: {missing}"
