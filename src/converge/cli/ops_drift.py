"""``converge drift`` and ``converge health``: parsing and printing only.

The work is done by ``converge.ops.drift.detect_drift`` and
``converge.ops.health.check_health``; ``register(cli)`` adds both commands to the group.
"""

from __future__ import annotations

from typing import Any

import click

from converge.cli.options import (
    output_format,
    output_option,
    project_selection,
    report_format_option,
    select_projects,
    system_option,
    target_options,
    workspace_from_context,
)
from converge.cli.output import error_json, finish, paint, print_error
from converge.cli.progress import project_progress
from converge.cli.run import open_run
from converge.errors import ConvergeError
from converge.ops.drift import DriftReport, detect_drift
from converge.ops.drift_render import render_json, render_markdown, render_text
from converge.ops.health import HealthReport, check_health

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
) -> None:
    """Desired (rendered artifacts) against actual (live), per object and field.

    Exit 0 no drift, 2 drift, 1 error. Never writes to a vendor; records in the state
    database when each drift was first seen. `converge apply` heals what it reports
    (`--adopt` for unmanaged objects in the way). Live Infisical client secrets that no
    converge variable holds are drift too: `added` when converge minted them (apply
    revokes them), `unmanaged` otherwise (converge never revokes those).

    \b
    Example:
      converge drift journal
      converge drift --all --output markdown > drift.md
    """
    workspace = workspace_from_context(ctx)
    fmt = output_format(ctx)
    names = select_projects(workspace, projects, all_projects)
    reports: list[DriftReport] = []
    errors: list[dict[str, Any]] = []
    code = 0
    render = render_markdown if fmt == "markdown" else render_text
    with open_run(ctx, workspace) as run, project_progress(ctx, "drift", names) as progress:
        for name in names:
            progress.started(name)
            try:
                report = detect_drift(run, name, systems=systems or None)
            except ConvergeError as exc:
                print_error(exc, name)
                progress.finished(name, "failed")
                errors.append(error_json(exc, name))
                code = max(code, exc.exit_code)
                continue
            reports.append(report)
            progress.finished(name, _drift_summary(report))
            if fmt != "json":  # each project's report as soon as it is known
                click.echo(render(report))
    code = code or (2 if any(r.has_drift for r in reports) else 0)
    finish(code, {**render_json(reports, requests=run.counter.total()), "errors": errors})


def _drift_summary(report: DriftReport) -> str:
    count = sum(len(s.items) for s in report.systems)
    return f"drift in {count} object{'s' if count > 1 else ''}" if count else "no drift"


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
@output_option("text", "json", help_text="text (default) or json.")
@click.option("--vendor-cli", is_flag=True,
              help="Also run the vendors' own CLIs where installed (vercel env ls).")
@target_options
@click.pass_context
def health(
    ctx: click.Context,
    projects: tuple[str, ...],
    all_projects: bool,
    vendor_cli: bool,
) -> None:
    """Live checks of what was applied, one line per check. Exit 0 healthy, 1 not.

    \b
    Example:
      converge health journal
      converge health journal --vendor-cli
    """
    workspace = workspace_from_context(ctx)
    json_out = output_format(ctx) == "json"
    names = select_projects(workspace, projects, all_projects)
    reports: list[HealthReport] = []
    errors: list[dict[str, Any]] = []
    code = 0
    with open_run(ctx, workspace, journal=False) as run:
        for name in names:
            try:
                report = check_health(run, name, vendor_cli=vendor_cli)
            except ConvergeError as exc:
                print_error(exc, name)
                errors.append(error_json(exc, name))
                code = max(code, exc.exit_code)
                continue
            reports.append(report)
            if not json_out:
                click.echo("\n".join(health_lines(report)))
    healthy = all(r.healthy for r in reports)
    finish(
        code or (0 if healthy else 1),
        {"healthy": not code and healthy, "reports": [r.to_json() for r in reports],
         "errors": errors},
    )


def register(cli: click.Group) -> None:
    """Add ``drift`` and ``health`` to the ``converge`` group."""
    cli.add_command(drift)
    cli.add_command(health)
