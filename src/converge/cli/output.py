"""Formatting for the terminal: findings as one line each, colour only where wanted.

Colour is off when NO_COLOR is set or stdout is not a terminal, so logs and CI output
stay plain text.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from converge.errors import ConfigError, ConvergeError
from converge.policies.results import RuleResult, Status

_SEVERITY_LABEL = {
    Status.FAIL: "error",
    Status.WARN: "warning",
    Status.WAIVED: "waived",
    Status.PASS: "pass",
}
_COLOURS = {"error": "red", "warning": "yellow", "waived": "cyan", "pass": "green"}


def colour_enabled() -> bool:
    return "NO_COLOR" not in os.environ and sys.stdout.isatty()


def paint(text: str, colour: str) -> str:
    return click.style(text, fg=colour) if colour_enabled() else text


def finding_line(rule: str, severity: str, location: str, message: str) -> str:
    """``rule severity file:line:col message`` — the one-line form of every finding."""
    label = paint(severity, _COLOURS.get(severity, "white"))
    where = f" {location}" if location else ""
    return f"{rule} {label}{where} {message}"


def config_error_line(error: ConfigError) -> str:
    line = finding_line(error.rule, "error", str(error.location or ""), error.message)
    return f"{line}\n  hint: {error.hint}" if error.hint else line


def result_line(result: RuleResult) -> str:
    return finding_line(
        result.rule, _SEVERITY_LABEL[result.status], str(result.location or ""), result.message
    )


def config_error_json(error: ConfigError) -> dict[str, Any]:
    return {
        "rule": error.rule,
        "severity": "error",
        "status": "fail",
        "location": str(error.location) if error.location else None,
        "message": error.message,
    }


def error_lines(exc: ConvergeError, project: str | None = None) -> list[str]:
    """A failure as the user sees it: one line (naming the project, when there is one),
    and the hint on the next."""
    where = f"{project}: " if project else ""
    return [f"error: {where}{exc.render()}"] + ([f"hint: {exc.hint}"] if exc.hint else [])


def print_error(exc: ConvergeError, project: str | None = None) -> None:
    """``error_lines`` on stderr: the one way the CLI reports a ConvergeError."""
    click.echo("\n".join(error_lines(exc, project)), err=True)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))
