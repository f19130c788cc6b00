"""The ``converge`` command: parses arguments, calls the library, prints results.

Every failure the library raises is a ConvergeError; it is printed as one line (plus a
hint) and turned into the documented exit code. Nothing else in converge prints.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from converge import __version__
from converge.cli.dashboard import dashboard
from converge.cli.importer import import_command
from converge.cli.init import init
from converge.cli.ops_drift import drift, health
from converge.cli.ops_rollout import rollback, rollout
from converge.cli.ops_watch import watch, write_command_metrics
from converge.cli.options import (
    COMMAND_KEY,
    OUTPUT_KEY,
    command_name,
    output_format,
    output_option,
    select_projects,
    workspace_from_context,
)
from converge.cli.output import (
    config_error_json,
    config_error_line,
    error_document,
    error_json,
    finding_line,
    finish,
    paint,
    print_error,
    write_json,
)
from converge.cli.progress import MODES, PROGRESS_KEY
from converge.cli.reconcile import apply, audit, plan, status
from converge.cli.run import workspace_journal
from converge.cli.sandbox import sandbox
from converge.config.schemas import write_schemas
from converge.config.workspace import Workspace
from converge.engine.decisions import decide_and_log
from converge.engine.pipeline import (
    Only,
    check_render,
    render_project,
    validate_project,
)
from converge.engine.trust import rollback_line
from converge.errors import EXIT_USAGE, ConfigError, ConfigErrors, ConvergeError
from converge.vendors.http import report_retries

F = TypeVar("F", bound=Callable[..., Any])

_SEVERITY = {"fail": "error", "warn": "warning", "waived": "waived", "pass": "pass"}


def workspace_options(func: F) -> F:
    """``--workspace`` and ``--output`` on every subcommand (they may also precede it)."""

    @click.option(
        "--workspace",
        "workspace_dir",
        type=click.Path(path_type=Path),
        default=None,
        help="Workspace folder (default: nearest parent holding converge.yaml).",
    )
    @output_option("text", "json")
    @click.pass_context
    @functools.wraps(func)
    def wrapper(ctx: click.Context, workspace_dir: Path | None, *args: Any, **kwargs: Any) -> Any:
        if workspace_dir is not None:
            ctx.ensure_object(dict)["workspace_dir"] = workspace_dir
        return ctx.invoke(func, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _workspace() -> Workspace:
    return workspace_from_context(click.get_current_context())


def _json_output() -> bool:
    return output_format(click.get_current_context()) == "json"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="converge")
@click.option(
    "--workspace",
    "workspace_dir",
    type=click.Path(path_type=Path),
    default=None,
    envvar="CONVERGE_WORKSPACE",
    help="Workspace folder (default: $CONVERGE_WORKSPACE, else the nearest parent holding "
    "converge.yaml).",
)
@output_option("text", "json")
@click.option(
    "--metrics-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    envvar="CONVERGE_METRICS_FILE",
    help="At exit, write Prometheus metrics here (node_exporter textfile format, atomic).",
)
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    envvar="CONVERGE_VERBOSE",
    help="Print one line per retried vendor request (vendor, method, path, attempt) to stderr.",
)
@click.option(
    "--progress",
    type=click.Choice(MODES),
    default="auto",
    show_default=True,
    envvar="CONVERGE_PROGRESS",
    help="Live progress on stderr (apply, rollback, rollout; plan and drift of several "
    "projects): auto = a bar on a terminal, else one line per operation.",
)
@click.pass_context
def cli(
    ctx: click.Context,
    workspace_dir: Path | None,
    metrics_file: Path | None,
    verbose: bool,
    progress: str,
) -> None:
    """Keep Infisical, Vercel and Supabase exactly as the workspace says.

    \b
    Example:
      converge validate --all
      converge decide journal && converge render journal
    """
    state = ctx.ensure_object(dict)
    state["workspace_dir"] = workspace_dir
    state[PROGRESS_KEY] = progress
    report_retries(functools.partial(click.echo, err=True) if verbose else None)
    if metrics_file is not None:
        state["metrics_file"] = metrics_file
    ctx.call_on_close(functools.partial(write_command_metrics, state))


@cli.command()
@click.argument("projects", nargs=-1)
@click.option("--all", "all_projects", is_flag=True, help="Every project in the workspace.")
@click.option(
    "--only",
    type=click.Choice(["infisical", "platforms"]),
    default=None,
    help="Check only the Infisical or only the Vercel/Supabase inputs.",
)
@workspace_options
def validate(projects: tuple[str, ...], all_projects: bool, only: Only) -> None:
    """Check schemas and cross-file references.

    \b
    Example:
      converge validate journal --only infisical
    """
    workspace = _workspace()
    names = select_projects(workspace, projects, all_projects, default_all=True)
    report: list[dict[str, Any]] = []
    failed = False
    for name in names:
        errors: list[ConfigError] = []
        try:
            validate_project(workspace, name, only=only)
        except ConfigErrors as exc:
            errors = exc.errors
        except ConfigError as exc:
            errors = [exc]
        failed = failed or bool(errors)
        report.append(
            {
                "project": name,
                "valid": not errors,
                "findings": [config_error_json(e) for e in errors],
            }
        )
        if not _json_output():
            for error in errors:
                click.echo(config_error_line(error))
            scope = f" ({only})" if only else ""
            verdict = paint("invalid", "red") if errors else paint("valid", "green")
            click.echo(f"{name}: {verdict}{scope}")
    finish(1 if failed else 0, {"projects": report})


@cli.command()
@click.argument("projects", nargs=-1)
@click.option("--all", "all_projects", is_flag=True, help="Every project in the workspace.")
@workspace_options
def decide(projects: tuple[str, ...], all_projects: bool) -> None:
    """Evaluate policies, write .out/<p>/decision.json and log the verdict.

    \b
    Example:
      converge decide journal
    """
    workspace = _workspace()
    names = select_projects(workspace, projects, all_projects)
    journal = click.get_current_context().with_resource(workspace_journal(workspace))
    denied = False
    report: list[dict[str, Any]] = []
    for name in names:
        try:
            decision = decide_and_log(workspace, name, journal=journal)
        except ConfigErrors as exc:
            _print_config_errors(exc)
            denied = True
            report.append(
                {
                    "project": name,
                    "verdict": None,
                    "findings": [config_error_json(e) for e in exc.errors],
                }
            )
            continue
        body = decision.body
        denied = denied or decision.verdict != "allow"
        report.append(body)
        if _json_output():
            continue
        counts = {"fail": 0, "warn": 0, "waived": 0}
        for result in body["results"]:
            status = result["status"]
            if status == "pass":
                continue
            counts[status] += 1
            click.echo(
                finding_line(
                    result["rule"], _SEVERITY[status], result["location"] or "", result["message"]
                )
            )
        colour = "green" if decision.verdict == "allow" else "red"
        click.echo(
            f"{name}: {paint(decision.verdict, colour)} (decision {decision.decision_id[:19]}…; "
            f"{counts['fail']} failed, {counts['warn']} warnings, {counts['waived']} waived) "
            f"-> {workspace.settings.out}/{name}/decision.json"
        )
    finish(1 if denied else 0, {"projects": report})


@cli.command()
@click.argument("projects", nargs=-1)
@click.option("--all", "all_projects", is_flag=True, help="Every project in the workspace.")
@click.option("--check", is_flag=True, help="Exit 1 if .out/<p>/ differs from a fresh render.")
@workspace_options
def render(projects: tuple[str, ...], all_projects: bool, check: bool) -> None:
    """Render artifacts from an allowing, current decision.

    The decision on disk must be what the policies give the current inputs today, byte
    for byte (make decision writes it). After the brief's rollback recipe (git checkout
    REV -- .out/<p>/) the restored files are kept when that revision's inputs, read from
    git, pass today's rules and render exactly to them.

    \b
    Example:
      converge render journal --check
    """
    workspace = _workspace()
    names = select_projects(workspace, projects, all_projects)
    failed = False
    report: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for name in names:
        try:
            if check:
                result = check_render(workspace, name)
                failed = failed or not result.current
                report.append(
                    {
                        "project": name,
                        "current": result.current,
                        "differences": result.differences,
                        "restored": result.restored,
                    }
                )
                if not _json_output():
                    if result.restored:
                        click.echo(rollback_line(workspace, name, result.restored, "kept"))
                    for line in result.differences:
                        click.echo(f"{name}: {line}")
                    state = (
                        paint("up to date", "green") if result.current else paint("stale", "red")
                    )
                    click.echo(f"{name}: artifacts {state}")
                continue
            rendered = render_project(workspace, name)
        except ConfigErrors as exc:
            _print_config_errors(exc)
            failed = True
            errors.append(error_json(exc, name)
                          | {"findings": [config_error_json(e) for e in exc.errors]})
            continue
        except ConvergeError as exc:
            print_error(exc)
            failed = True
            errors.append(error_json(exc, name))
            continue
        report.append(
            {
                "project": name,
                "decision_id": rendered.decision_id,
                "files": rendered.files,
                "restored": rendered.restored,
            }
        )
        if rendered.restored and not _json_output():
            click.echo(rollback_line(workspace, name, rendered.restored, "kept"))
        elif not _json_output():
            rel = f"{workspace.settings.out}/{name}"
            click.echo(f"{name}: rendered {len(rendered.files)} files into {rel}/")
            for file_name in rendered.files:
                click.echo(f"  {file_name}")
    finish(1 if failed else 0, {"projects": report, "errors": errors})


@cli.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path),
    default=Path("schemas"),
    show_default=True,
    help="Where to write the JSON Schema files.",
)
@click.option("--check", is_flag=True, help="Exit 1 if the files differ from the models.")
@output_option("text", "json")
def schema(directory: Path, check: bool) -> None:
    """Write JSON Schema for every input file and artifact kind.

    \b
    Example:
      converge schema --dir schemas
    """
    changed = write_schemas(directory, check=check)
    if not _json_output():
        for name in changed:
            click.echo(f"{directory / name}: {'out of date' if check else 'written'}")
        if not changed:
            click.echo(f"{directory}: schemas up to date")
    finish(
        1 if check and changed else 0,
        {"directory": str(directory), "check": check, "changed": list(changed)},
    )


cli.add_command(init)
cli.add_command(sandbox)
cli.add_command(plan)
cli.add_command(apply)
cli.add_command(status)
cli.add_command(audit)
cli.add_command(drift)
cli.add_command(health)
cli.add_command(watch)
cli.add_command(rollback)
cli.add_command(rollout)
cli.add_command(import_command)
cli.add_command(dashboard)


def _print_config_errors(exc: ConfigErrors) -> None:
    """Configuration findings, one line each: on stdout (they are the command's report),
    on stderr in JSON mode (where stdout holds the document alone)."""
    for error in exc.errors:
        click.echo(config_error_line(error), err=_json_output())


def _output_in(args: list[str]) -> str | None:
    """The ``--output`` of a command line click refused before reading it (an unknown
    option stops parsing): the last one given, up to ``--``."""
    found = None
    for index, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--output" and index + 1 < len(args):
            found = args[index + 1]
        elif arg.startswith("--output="):
            found = arg.partition("=")[2]
    return found


class _Failure:
    """Reports a command that stopped with an error: the human lines on stderr (as
    always), and in JSON mode also one error document on stdout, unless the command
    printed its document already."""

    def __init__(self, state: dict[str, Any], args: list[str]):
        self.state = state
        self.args = args

    @property
    def json_mode(self) -> bool:
        chosen = self.state.get(OUTPUT_KEY) or _output_in(self.args)
        return chosen == "json"

    def document(
        self, message: str, hint: str, code: int, command: str | None = None, **detail: Any
    ) -> None:
        if self.json_mode:
            name = self.state.get(COMMAND_KEY) or command
            write_json(self.state, error_document(name, message, hint=hint, exit_code=code,
                                                  **detail))

    def exit(self, message: str, hint: str, code: int, **detail: Any) -> NoReturn:
        self.document(message, hint, code, **detail)
        sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning every error into one line and an exit code (and,
    with ``--output json``, one error document on stdout)."""
    args = list(sys.argv[1:] if argv is None else argv)
    state: dict[str, Any] = {}
    failure = _Failure(state, args)
    try:
        cli.main(args=args, prog_name="converge", standalone_mode=False, obj=state)
    except ConfigErrors as exc:
        for error in exc.errors:
            click.echo(config_error_line(error), err=failure.json_mode)
        failure.exit(exc.render(), exc.hint, exc.exit_code,
                     findings=[config_error_json(e) for e in exc.errors])
    except ConvergeError as exc:
        print_error(exc)
        failure.exit(exc.render(), exc.hint, exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        failure.exit("aborted", "", 130)
    except click.UsageError as exc:
        # click's message, with its usage line, on stderr; exit 64, never 2 ("changes").
        exc.show()
        where = exc.ctx.command_path if exc.ctx is not None else "converge"
        if isinstance(exc, click.exceptions.NoArgsIsHelpError):
            message = f"{where}: no command given"
        else:
            message = exc.format_message()
        failure.document(message, f"see {where} --help", EXIT_USAGE,
                         command_name(exc.ctx) if exc.ctx is not None else None)
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        exc.show()
        failure.exit(exc.format_message(), "", exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        failure.exit("interrupted", "", 130)
    except Exception as exc:  # noqa: BLE001 - last line of defence: never a traceback
        if os.environ.get("CONVERGE_DEBUG"):
            raise
        message = (f"internal error ({type(exc).__name__}); rerun with CONVERGE_DEBUG=1 "
                   "and report it")
        click.echo(f"error: {message}", err=True)
        failure.exit(message, "", 1)


if __name__ == "__main__":
    main()
