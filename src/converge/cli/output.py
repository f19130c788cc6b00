"""Formatting for the terminal: findings as one line each, colour only where wanted; and
the one JSON document a command prints with ``--output json``.

Colour is off when NO_COLOR is set or stdout is not a terminal, so logs and CI output
stay plain text.

JSON mode (docs/json-output.md): every command prints exactly one document on stdout,
``{"format_version": 1, "command": "plan", "ok": true, …}``; a command that fails before
it has a result prints ``{"format_version": 1, "command": …, "ok": false, "error":
{"message", "hint", "exit_code"}}`` instead (``error_document``), with the human line
still on stderr. ``ok`` is true when the exit code is 0 or 2 (changes, drift).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from typing import Any, NoReturn

import click

from converge.cli.options import command_name, output_format
from converge.errors import EXIT_CHANGES, ConfigError, ConvergeError
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


FORMAT_VERSION = 1
EMITTED_KEY = "json_emitted"


def json_document(
    command: str | None, data: Mapping[str, Any], *, exit_code: int
) -> dict[str, Any]:
    """A command's result as the versioned document ``--output json`` prints."""
    return {
        "format_version": FORMAT_VERSION,
        "command": command,
        "ok": exit_code in (0, EXIT_CHANGES),
        **data,
    }


def error_document(
    command: str | None,
    message: str,
    *,
    hint: str,
    exit_code: int,
    **detail: Any,
) -> dict[str, Any]:
    """A command that failed before it had a result (a usage error, a refused credential,
    a held lock) as one document."""
    error = {"message": message, "hint": hint or None, "exit_code": exit_code, **detail}
    return json_document(command, {"error": error}, exit_code=exit_code) | {"ok": False}


def write_json(state: dict[str, Any], document: Mapping[str, Any]) -> None:
    """Print ``document`` on stdout, once per command (``state`` is the root context's)."""
    if state.get(EMITTED_KEY):
        return
    state[EMITTED_KEY] = True
    click.echo(json.dumps(document, indent=2, sort_keys=True))


def emit_json(data: Mapping[str, Any], *, exit_code: int = 0) -> None:
    """The current command's one JSON document: ``data`` with ``format_version``,
    ``command`` and ``ok`` (from the exit code the command is about to return)."""
    ctx = click.get_current_context()
    state = ctx.find_root().ensure_object(dict)
    write_json(state, json_document(command_name(ctx), data, exit_code=exit_code))


def error_json(exc: ConvergeError, project: str | None = None) -> dict[str, Any]:
    """One project's failure inside a command's document (``errors``)."""
    return {
        "project": project,
        "message": exc.render(),
        "hint": exc.hint or None,
        "exit_code": exc.exit_code,
    }


def finish(exit_code: int, document: Mapping[str, Any]) -> NoReturn:
    """End the command: with ``--output json`` print ``document`` (``emit_json``) first;
    then exit with ``exit_code``."""
    if output_format(click.get_current_context()) == "json":
        emit_json(document, exit_code=exit_code)
    sys.exit(exit_code)


def fail(exc: ConvergeError) -> NoReturn:
    """Report ``exc`` as ``cli.main`` would (its lines on stderr, and in JSON mode one
    error document) and exit with its code: for a command that must end itself."""
    print_error(exc)
    ctx = click.get_current_context()
    if output_format(ctx) == "json":
        state = ctx.find_root().ensure_object(dict)
        write_json(state, error_document(command_name(ctx), exc.render(), hint=exc.hint,
                                         exit_code=exc.exit_code))
    sys.exit(exc.exit_code)
