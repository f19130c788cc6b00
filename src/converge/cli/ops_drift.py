"""``converge drift`` and ``converge health``: parsing and printing only.

The work is done by ``converge.ops.drift.detect_drift`` and
``converge.ops.health.check_health``; ``register(cli)`` adds both commands to the group.
"""

from __future__ import annotations

import sys

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
from converge.cli.output import emit_json, paint, print_error
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
    code = 0
    with open_run(ctx, workspace) as run:
        for name in names:
            try:
                reports.append(detect_drift(run, name, systems=systems or None))
            except ConvergeError as exc:
                print_error(exc, name)
                code = max(code, exc.exit_code)
    if fmt == "json":
        emit_json(render_json(reports, requests=run.counter.total()))
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
    code = 0
    with open_run(ctx, workspace, journal=False) as run:
        for name in names:
            try:
                report = check_health(run, name, vendor_cli=vendor_cli)
            except ConvergeError as exc:
                print_error(exc, name)
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
