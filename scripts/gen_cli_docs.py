#!/usr/bin/env python3
"""Write docs/cli.md from the commands' own --help texts (a test keeps it current)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

REPO = Path(__file__).resolve().parent.parent
TARGET = REPO / "docs" / "cli.md"


def _walk(command: click.Command, name: str, parent: click.Context | None) -> list[tuple[str, str]]:
    """(full command name, help text) for ``command`` and every subcommand, each help
    rendered in its parent's context as `converge … --help` shows it."""
    settings = {**command.context_settings, "terminal_width": 88, "max_content_width": 88}
    ctx = click.Context(command, info_name=name, parent=parent, **settings)
    found = [(ctx.command_path, command.get_help(ctx))]
    if isinstance(command, click.Group):
        for sub in sorted(command.commands):
            found += _walk(command.commands[sub], sub, ctx)
    return found


def render() -> str:
    from converge.cli.main import cli

    parts = [
        "# converge command reference",
        "",
        "Generated from `--help` by `scripts/gen_cli_docs.py`; do not edit by hand.",
        "",
    ]
    for path, text in _walk(cli, "converge", None):
        parts += [f"## {path}", "", "```", text.rstrip(), "```", ""]
    return "\n".join(parts)


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print("docs/cli.md is out of date: run scripts/gen_cli_docs.py")
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
