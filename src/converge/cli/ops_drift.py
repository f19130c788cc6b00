"""``converge drift`` and ``converge health``: parsing and printing only.

The work is done by ``converge.ops.drift.detect_drift`` and
``converge.ops.health.check_health``; ``register(cli)`` adds both commands to the group.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from converge.cli.options import (
    project_selection,
    report_error,
    report_format_option,
    select_projects,
    system_option,
    target_options,
    workspace_from_context,
)
from converge.cli.output import emit_json, paint
from converge.cli.reconcile import workspace_journal
from converge.cli.target import resolve_target, vendor_environment
from converge.errors import ConvergeError
from converge.ops.drift import DriftReport, detect_drift
from converge.ops.drift_render import render_json, render_markdown, render_text
from converge.ops.health import HealthReport, check_health
from converge.ops.metrics import command_counter

STATUS_MARK = {"pass": ("✅", "green"), "fail": ("❌", "red"), "skip": ("⏭️", "yellow")}










@click.command()
@project_selection
@system_option
@report_format_option
@target_options
@click.pass_context
def drift(
    ctx: click.Context,
    projects: tuple[str, ...],
    all_projects: bool,
    systems: tuple[str, ...],
    fmt: str | None,
    target: str | None,
    infisical_config: Path | None,
) -> None:
    """Desired (rendered artifacts) against actual (live), per object and field.

    Exit 0 no drift, 2 drift, 1 error. Never writes to a vendor; records in the state
    database when each drift was first seen. `converge apply` heals what it reports
    (`--adopt` for unmanaged objects in the way).

    \b
    Example:
      converge drift journal
      converge drift --all --output markdown > drift.md
    """
    workspace = workspace_from_context(ctx)
    fmt = fmt or ctx.ensure_object(dict).get("output") or "text"
    names = select_projects(workspace, projects, all_projects)
    counter = command_counter(ctx.find_root().ensure_object(dict))
    reports: list[DriftReport] = []
    code = 0
    with (
        vendor_environment(workspace, resolve_target(workspace, target)) as env,
        workspace_journal(workspace) as journal,
    ):
        for name in names:
            try:
                reports.append(detect_drift(
                    workspace, name, env=env, journal=journal, counter=counter,
                    systems=systems or None, infisical_config=infisical_config,
                ))
            except ConvergeError as exc:
                report_error(name, exc)
                code = max(code, exc.exit_code)
    if fmt == "json":
        emit_json(render_json(reports, requests=counter.total()))
    elif reports:
        render = render_markdown if fmt == "markdown" else render_text
        click.echo("\n".join(render(r) for r in reports))
    if code:
        sys.exit(code)
    sys.exit(2 if any(r.has_drift for r in reports) else 0)


def health_lines(report: HealthReport) -> list[str]:
    """One line per check: ``✅ vercel  NEXT_PUBLIC_API_URL present (production, plain)``."""
    lines = [f"🩺 Health of {report.project}"]
    for check in report.checks:
        mark, colour = STATUS_MARK[check.status]
        lines.append(f"  {mark} {paint(check.status, colour):<4} {check.system:<9} {check.name}"
                     + (f": {check.detail}" if check.detail else ""))
    verdict = paint("healthy", "green") if report.healthy else paint("NOT healthy", "red")
    c = report.counts()
    lines.append(f"{report.project}: {verdict} ({c['pass']} passed, {c['fail']} failed, "
                 f"{c['skip']} skipped)")
    return lines


@click.command()
@project_selection
@click.option("--output", "fmt", type=click.Choice(["text", "json"]), default=None,
              help="text (default) or json.")
@click.option("--vendor-cli", is_flag=True,
              help="Also run the vendors' own CLIs where installed (vercel env ls).")
@target_options
@click.pass_context
def health(
    ctx: click.Context,
    projects: tuple[str, ...],
    all_projects: bool,
    fmt: str | None,
    vendor_cli: bool,
    target: str | None,
    infisical_config: Path | None,
) -> None:
    """Live checks of what was applied, one line per check. Exit 0 healthy, 1 not.

    \b
    Example:
      converge health journal
      converge health journal --vendor-cli
    """
    workspace = workspace_from_context(ctx)
    json_out = (fmt or ctx.ensure_object(dict).get("output")) == "json"
    names = select_projects(workspace, projects, all_projects)
    reports: list[HealthReport] = []
    code = 0
    with vendor_environment(workspace, resolve_target(workspace, target)) as env:
        for name in names:
            try:
                report = check_health(workspace, name, env=env, vendor_cli=vendor_cli,
                                      infisical_config=infisical_config)
            except ConvergeError as exc:
                report_error(name, exc)
                code = max(code, exc.exit_code)
                continue
            reports.append(report)
            if not json_out:
                click.echo("\n".join(health_lines(report)))
    if json_out:
        emit_json({"format_version": 1, "healthy": not code and all(r.healthy for r in reports),
                   "reports": [r.to_json() for r in reports]})
    if code:
        sys.exit(code)
    sys.exit(0 if all(r.healthy for r in reports) else 1)


def register(cli: click.Group) -> None:
    """Add ``drift`` and ``health`` to the ``converge`` group."""
    cli.add_command(drift)
    cli.add_command(health)
