"""Options shared by the commands that talk to vendors, declared once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from converge.config.workspace import Workspace, check_project_name, open_workspace

F = TypeVar("F", bound=Callable[..., Any])

SYSTEM_CHOICE = click.Choice(["infisical", "vercel", "supabase"])
TARGET_CHOICE = click.Choice(["live", "sandbox"])


def project_selection(func: F) -> F:
    """``PROJECTS…`` and ``--all``."""
    func = click.option(
        "--all", "all_projects", is_flag=True, help="Every project in the workspace."
    )(func)
    return click.argument("projects", nargs=-1)(func)


def system_option(func: F) -> F:
    """``--system S`` (repeatable)."""
    return click.option(
        "--system",
        "systems",
        type=SYSTEM_CHOICE,
        multiple=True,
        help="Only this system (repeatable).",
    )(func)


TARGET_KEY = "converge.target"
INFISICAL_CONFIG_KEY = "converge.infisical_config"


def _remember(key: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def remember(ctx: click.Context, _: click.Parameter, value: Any) -> None:
        ctx.meta[key] = value

    return remember


def target_options(func: F) -> F:
    """``--target live|sandbox`` and ``--config`` (Infisical credentials file), kept in
    the click context for ``cli.run.open_run``, which builds the run context from them
    (the commands never handle them)."""
    func = click.option(
        "--config",
        type=click.Path(path_type=Path),
        default=None,
        expose_value=False,
        callback=_remember(INFISICAL_CONFIG_KEY),
        help="Infisical credentials file (apiUrl, token or clientId/clientSecret).",
    )(func)
    return click.option(
        "--target",
        type=TARGET_CHOICE,
        default=None,
        expose_value=False,
        callback=_remember(TARGET_KEY),
        help="Vendors to talk to (default: converge.yaml's target).",
    )(func)


def vendor_target(ctx: click.Context) -> tuple[str | None, Path | None]:
    """``--target`` and ``--config`` as given (None: not given)."""
    return ctx.meta.get(TARGET_KEY), ctx.meta.get(INFISICAL_CONFIG_KEY)


OUTPUT_KEY = "output"
COMMAND_KEY = "command"


def command_name(ctx: click.Context) -> str | None:
    """The command as the JSON documents name it (``plan``, ``audit verify``); None for
    the group itself."""
    words = ctx.command_path.split()[1:]
    return " ".join(words) or None


def _remember_output(ctx: click.Context, _: click.Parameter, value: str | None) -> None:
    state = ctx.find_root().ensure_object(dict)
    if ctx.parent is not None:
        state[COMMAND_KEY] = command_name(ctx)
    if value is not None:
        state[OUTPUT_KEY] = value


def output_option(*formats: str, help_text: str = "Output format.") -> Callable[[F], F]:
    """``--output FORMAT``, declared here once for the group and every command.

    The choice is kept in the root context, so ``converge --output json plan`` and
    ``converge plan --output json`` mean the same (the command's own choice wins);
    ``output_format`` reads it. Eager, so it is known (and the command it belongs to)
    even when another option of the same command is refused: the usage error is then
    one JSON document too."""
    return click.option(
        "--output",
        type=click.Choice(list(formats)),
        default=None,
        expose_value=False,
        is_eager=True,
        callback=_remember_output,
        help=help_text,
    )


def report_format_option(func: F) -> F:
    """``--output text|json|markdown`` for commands whose report doubles as a PR comment."""
    return output_option(
        "text",
        "json",
        "markdown",
        help_text="text (default), json (format_version 1) or markdown (pull-request comment).",
    )(func)


def output_format(ctx: click.Context) -> str:
    """The ``--output`` chosen for this command (``text`` when none was)."""
    return str(ctx.find_root().ensure_object(dict).get(OUTPUT_KEY) or "text")


def workspace_from_context(ctx: click.Context) -> Workspace:
    """The workspace named by --workspace / $CONVERGE_WORKSPACE, else the nearest one."""
    return open_workspace(ctx.find_root().ensure_object(dict).get("workspace_dir"))


def select_projects(
    workspace: Workspace, names: tuple[str, ...], all_projects: bool, *, default_all: bool = False
) -> list[str]:
    """The projects a command acts on: the names given, or every project with ``--all``
    (or with no names, where ``default_all``); every name is checked before use."""
    if all_projects or (not names and default_all):
        found = workspace.project_names()
        for name in found:
            check_project_name(name)
        return found
    if not names:
        raise click.UsageError("name at least one project, or pass --all")
    for name in names:
        check_project_name(name)
    return list(dict.fromkeys(names))
