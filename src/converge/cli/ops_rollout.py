"""``converge rollback`` and ``converge rollout``: parsing and printing only.

The work is in ``converge.ops.rollback`` and ``converge.ops.rollout``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from converge.cli.options import (
    output_format,
    output_option,
    project_selection,
    select_projects,
    target_options,
    workspace_from_context,
)
from converge.cli.output import finish, paint, print_error
from converge.cli.progress import ApplyProgress, FanOut, command_progress
from converge.cli.reconcile import BriefPrinter
from converge.cli.run import open_run
from converge.engine.context import ReconcileOptions
from converge.errors import ConvergeError
from converge.ops.apply import project_revision
from converge.ops.rollback import apply_revision, resolve_point, revision_artifacts
from converge.ops.rollout import RolloutReport, WaveReport, rollout_project


@click.command()
@project_selection
@click.option(
    "--to",
    "to",
    default=None,
    metavar="GIT_REV|RUN_ID",
    help="Revision or journal run to restore (default: the previous successful apply's).",
)
@click.option(
    "--allow-mass-delete",
    is_flag=True,
    help="Allow deleting more than half (or all) of a system's managed objects.",
)
@target_options
@output_option("text", "json")
@click.pass_context
def rollback(
    ctx: click.Context,
    projects: tuple[str, ...],
    all_projects: bool,
    to: str | None,
    allow_mass_delete: bool,
) -> None:
    """Re-apply an earlier revision's verified artifacts (.out/<p>/ as committed then).

    The revision's inputs are read from git and checked with today's rules and user
    policies, then re-rendered: its committed files must be exactly that render. A
    revision that fails is refused, naming the rule or file. The rollback is journaled
    as a run of command rollback.

    \b
    Example:
      converge rollback journal
      converge rollback journal --to HEAD~1
      converge rollback journal --to 01JD5T3K8ZQ4W7X2N6B9C1D0EF
    """
    workspace = workspace_from_context(ctx)
    names = select_projects(workspace, projects, all_projects)
    json_out = output_format(ctx) == "json"
    results: dict[str, dict[str, Any]] = {}
    exit_code = 0
    options = ReconcileOptions(allow_mass_delete=allow_mass_delete)
    with open_run(ctx, workspace, options=options) as run, command_progress(ctx) as progress:
        live = ApplyProgress(progress)
        for name in names:
            try:
                point = resolve_point(workspace, run.require_journal(), name, to)
                artifacts = revision_artifacts(workspace, name, point)
                printer = BriefPrinter(artifacts.desired, False, stream=not json_out)
                if not json_out:
                    click.echo(f"↩️ Rolling back {name} to {point.describe()}")
                done = apply_revision(run, artifacts, observer=FanOut(printer, live))
                results[name] = done.to_json()
                if not json_out:
                    counts = _counts(done.apply.counts)
                    click.echo(
                        f"\n✅ rolled back {name} to {point.short} "
                        f"(run {done.apply.run_id}): {counts or 'no change needed'}"
                    )
            except ConvergeError as exc:
                exit_code = max(exit_code, exc.exit_code)
                results[name] = {
                    "error": exc.message, "hint": exc.hint or None, "exit_code": exc.exit_code
                }
                print_error(exc, name)
    finish(exit_code, {"projects": results, "requests": run.counter.total()})


@click.command()
@project_selection
@target_options
@output_option("text", "json")
@click.pass_context
def rollout(
    ctx: click.Context,
    projects: tuple[str, ...],
    all_projects: bool,
) -> None:
    """Apply wave by wave (project.yaml rollout.waves), gating between waves.

    Wave 1 also carries the non-regional systems (Infisical, Vercel); later waves apply
    their regions' Supabase projects. After each wave the gate runs (health, drift,
    probe, soak); on failure, rollback re-applies the last clean revision to every wave
    already applied, or halt stops there.

    \b
    Example:
      converge rollout auth-service
      converge rollout auth-service --output json
    """
    workspace = workspace_from_context(ctx)
    names = select_projects(workspace, projects, all_projects)
    json_out = output_format(ctx) == "json"
    reports: list[dict[str, Any]] = []
    exit_code = 0
    with open_run(ctx, workspace) as run, command_progress(ctx) as progress:
        live = ApplyProgress(progress)
        for name in names:
            try:
                if not json_out:
                    click.echo(f"🌊 Rollout of {name}")

                def show(wave: WaveReport) -> None:
                    if not json_out:
                        click.echo("\n".join(_wave_lines(wave)))

                report = rollout_project(
                    run,
                    name,
                    revision=project_revision(workspace, name),
                    observer=live,
                    on_wave=show,
                )
            except ConvergeError as exc:
                exit_code = max(exit_code, exc.exit_code)
                reports.append({"project": name, "error": exc.message,
                                "hint": exc.hint or None, "exit_code": exc.exit_code})
                print_error(exc, name)
                continue
            reports.append(report.to_json())
            if not report.ok:
                exit_code = max(exit_code, 1)
            if not json_out:
                click.echo("\n".join(_summary_lines(report)))
    finish(exit_code, {"rollouts": reports, "requests": run.counter.total()})


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if v and k != "in_sync")


def _tick(passed: bool) -> str:
    return paint("✅", "green") if passed else paint("❌", "red")


def _wave_lines(wave: WaveReport) -> list[str]:
    lines = [f"Wave {wave.wave.number}: {wave.wave.describe()}"]
    if wave.status == "failed":
        lines.append(f"  ❌ apply failed: {wave.error}")
        return lines
    counts = _counts(wave.counts)
    lines.append(f"  ✅ applied (run {wave.run_id}): {counts or 'no change needed'}")
    if wave.gate is not None:
        verdict = "passed" if wave.gate.passed else "failed"
        lines.append(f"  🚦 gate {verdict}")
        lines.extend(f"    {_tick(c.passed)} {c.name}: {c.detail}" for c in wave.gate.checks)
    return lines


def _summary_lines(report: RolloutReport) -> list[str]:
    lines: list[str] = []
    for wave in reversed(report.waves):
        if wave.rollback is not None:
            lines.append(
                f"↩️ rolled back wave {wave.wave.number} ({wave.wave.describe()}) to "
                f"{str(wave.rollback['revision'])[:12]} in rollback run {wave.rollback['run_id']}"
            )
    icon = {"completed": "✅", "rolled_back": "↩️", "halted": "⏸️"}.get(report.outcome, "❌")
    lines.append(f"{icon} Rollout of {report.project}: {report.outcome} — {report.message}")
    return lines
