"""``converge plan | apply | status | audit``: the reconcile commands.

Parsing and printing only; the library does the work: ``converge.engine.reconcile``
(plan, dry run) and ``converge.ops.apply`` (apply, with automatic rollback and --commit).
"""

from __future__ import annotations

import shlex
import sys
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import click

from converge.changes import Change
from converge.cli.brief import BlockStream, system_block
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
from converge.cli.output import (
    error_json,
    error_lines,
    finish,
    paint,
    print_error,
)
from converge.cli.progress import ApplyProgress, FanOut, command_progress, project_progress
from converge.cli.run import open_run, stop_on_signals, workspace_journal
from converge.desired import DesiredState
from converge.engine.audit import current_actor
from converge.engine.audit_trail import describe_reseal, workspace_trail
from converge.engine.context import ReconcileOptions
from converge.engine.locks import read_lock_holder
from converge.engine.plan import Plan, SystemPlan, render_markdown, render_text
from converge.engine.reconcile import SilentObserver, plan_project
from converge.engine.status import system_states, unsettled_credentials
from converge.engine.trust import rollback_line, trusted_artifacts
from converge.errors import ConvergeError
from converge.ops.apply import CommitResult, apply_with_rollback
from converge.ops.rollback import AutoRollback
from converge.vendors.base import AppliedChange


@dataclass
class BriefPrinter(SilentObserver):
    """The brief's blocks for one project. Streamed (``stream``: a single project, text
    output) line by line as the changes are applied (``cli.brief.BlockStream``);
    otherwise collected in ``lines`` and printed whole when the project finishes, so
    parallel projects never interleave."""

    desired: DesiredState
    dry_run: bool
    lines: list[str] = field(default_factory=list)
    plans: dict[str, SystemPlan] = field(default_factory=dict)
    stream: bool = False
    _blocks: dict[str, BlockStream] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def system_planned(self, project: str, plan: SystemPlan) -> None:
        self.plans[plan.system] = plan
        if self.stream:
            if self.lines:
                self._emit([""])
            self._blocks[plan.system] = BlockStream(self.desired, plan, self._emit)

    def change_applied(self, project: str, change: Change, applied: AppliedChange) -> None:
        block = self._blocks.get(change.system)
        if block is not None:
            block.applied(change)

    def system_applied(self, project: str, system: str, summary: Mapping[str, Any]) -> None:
        block = self._blocks.pop(system, None)
        if block is not None:
            block.finish(summary)
        else:
            self.add_block(self.plans[system], summary)

    def credentials_revoked(self, project: str, revoked: Sequence[str]) -> None:
        count = len(revoked)
        block = [f"🔑 Revoked {count} client secret{'s' if count > 1 else ''} no variable holds"]
        block += [f"  ✓ {line}" for line in revoked]
        self._out(["", *block])

    def add_block(self, plan: SystemPlan, summary: Mapping[str, Any]) -> None:
        """A whole block at once (a dry run's plan, or a project printed when done)."""
        block = system_block(self.desired, plan, summary, dry_run=self.dry_run)
        self._out([""] + block if self.lines else block)

    def _out(self, lines: list[str]) -> None:
        if self.stream:
            self._emit(lines)
        else:
            with self._lock:
                self.lines.extend(lines)

    def _emit(self, lines: list[str]) -> None:
        with self._lock:
            self.lines.extend(lines)
            click.echo("\n".join(lines))


def _options(
    systems: tuple[str, ...], adopt: bool, allow_mass_delete: bool, command: str
) -> ReconcileOptions:
    return ReconcileOptions(
        systems=tuple(systems) or None,
        adopt=adopt,
        allow_mass_delete=allow_mass_delete,
        command=command,
    )


@click.command()
@project_selection
@system_option
@report_format_option
@target_options
@click.option("--adopt", is_flag=True, help="Plan to take over unmanaged objects in the way.")
@click.pass_context
def plan(
    ctx: click.Context,
    projects: tuple[str, ...],
    all_projects: bool,
    systems: tuple[str, ...],
    adopt: bool,
) -> None:
    """Show what apply would change; makes no write. Exit 0 none, 2 changes, 1 error.

    \b
    Example:
      converge plan journal --output markdown > plan.md
    """
    workspace = workspace_from_context(ctx)
    fmt = output_format(ctx)
    names = select_projects(workspace, projects, all_projects)
    plans: list[Plan] = []
    errors: list[dict[str, Any]] = []
    error_code = 0  # the worst exit code of a failed project (1; 3 lock; 4 credentials)
    options = _options(systems, adopt, False, "plan")
    render = render_markdown if fmt == "markdown" else render_text
    with open_run(ctx, workspace, options=options) as run, project_progress(
        ctx, "plan", names
    ) as progress:
        for name in names:
            progress.started(name)
            try:
                found = plan_project(run, name)
            except ConvergeError as exc:
                print_error(exc, name)
                progress.finished(name, "failed")
                errors.append(error_json(exc, name))
                error_code = max(error_code, exc.exit_code)
                continue
            plans.append(found)
            progress.finished(name, _changes(found))
            if fmt != "json":  # each project's plan as soon as it is known
                click.echo(render(found))
    code = error_code or (2 if any(not p.empty for p in plans) else 0)
    finish(
        code,
        {"plans": [p.to_json() for p in plans], "errors": errors, "requests": run.counter.total()},
    )


def _changes(found: Plan) -> str:
    count = sum(len(s.changes) for s in found.systems)
    return "no change" if not count else f"{count} change{'s' if count > 1 else ''}"


@click.command()
@project_selection
@system_option
@click.option("--dry-run", is_flag=True, help="Plan and print; make no write request.")
@click.option(
    "--no-rollback",
    is_flag=True,
    help="Do not re-apply the last good revision when an apply fails.",
)
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Projects applied in parallel.",
)
@click.option("--adopt", is_flag=True, help="Take over unmanaged objects in the way.")
@click.option(
    "--allow-mass-delete",
    is_flag=True,
    help="Allow deleting more than half (or all) of a system's managed objects.",
)
@target_options
@click.option(
    "--commit", "commit", is_flag=True, help="git commit .out/<p>/ after a successful apply."
)
@output_option("text", "json")
@click.pass_context
def apply(
    ctx: click.Context,
    projects: tuple[str, ...],
    all_projects: bool,
    systems: tuple[str, ...],
    dry_run: bool,
    no_rollback: bool,
    jobs: int,
    adopt: bool,
    allow_mass_delete: bool,
    commit: bool,
) -> None:
    """Bring the vendors to the rendered artifacts, journaled and resumable.

    \b
    Example:
      converge apply journal --dry-run
      converge apply --all --jobs 4
    """
    workspace = workspace_from_context(ctx)
    names = select_projects(workspace, projects, all_projects)
    json_out = output_format(ctx) == "json"
    results: dict[str, dict[str, Any]] = {}
    commits: list[CommitResult] = []
    exit_code = 0
    options = _options(systems, adopt, allow_mass_delete, "apply")
    with open_run(ctx, workspace, options=options) as run, command_progress(ctx) as progress:
        live = ApplyProgress(progress)

        def run_one(name: str) -> tuple[str, int, list[str], dict[str, Any]]:
            try:
                trusted = trusted_artifacts(workspace, name)
                stream = len(names) == 1 and not json_out
                printer = BriefPrinter(trusted.desired, dry_run, stream=stream)
                if trusted.revision is not None:
                    action = "planned as a rollback" if dry_run else "applied as a rollback"
                    note = rollback_line(workspace, name, trusted.revision, action)
                    if stream:
                        click.echo(note)
                    else:
                        printer.lines.append(note)
                if dry_run:
                    found = plan_project(run, name, artifacts=trusted)
                    for system_plan in found.systems:
                        printer.add_block(system_plan, {})
                    return name, 0, printer.lines, {"dry_run": True, "plan": found.to_json()}
            except ConvergeError as exc:
                return _failed(name, exc, None)
            done = apply_with_rollback(
                run,
                name,
                observer=FanOut(printer, live),
                rollback=not no_rollback,
                commit=commit,
                artifacts=trusted,
            )
            if done.error is not None:
                return _failed(name, done.error, done.rollback)
            assert done.outcome is not None
            result: dict[str, Any] = {"run_id": done.outcome.run_id, "counts": done.outcome.counts}
            if done.commit is not None:
                commits.append(done.commit)
                result["commit"] = {
                    "committed": done.commit.committed,
                    "revision": done.commit.revision,
                    "message": done.commit.message,
                }
            return name, 0, printer.lines, result

        with stop_on_signals(run), ThreadPoolExecutor(max_workers=jobs) as pool:
            for name, code, lines, result in pool.map(run_one, names):
                results[name] = result
                exit_code = max(exit_code, code)
                if json_out:
                    if code:  # the error and what rollback did, for the human on stderr
                        click.echo("\n".join(lines), err=True)
                    continue
                streamed = len(names) == 1 and code == 0
                if not streamed:
                    stream = sys.stderr if code else sys.stdout
                    click.echo("\n".join(lines), file=stream)
                if len(names) > 1:
                    state = paint("failed", "red") if code else paint("done", "green")
                    click.echo(f"[{len(results)}/{len(names)}] {name}: {state}", err=True)
    if not json_out:
        for done_commit in sorted(commits, key=lambda c: names.index(c.project)):
            click.echo(_commit_line(done_commit))
    finish(
        exit_code,
        {
            "projects": results,
            "requests": run.counter.total(),
            "writes": run.counter.total(writes_only=True),
        },
    )


def _failed(
    project: str, exc: ConvergeError, restored: AutoRollback | None
) -> tuple[str, int, list[str], dict[str, Any]]:
    """A failed project's lines (the error, then what automatic rollback did) and its JSON."""
    result: dict[str, Any] = {
        "error": exc.message, "hint": exc.hint or None, "exit_code": exc.exit_code
    }
    lines = error_lines(exc, project)
    if restored is not None:
        lines.extend(_rollback_lines(project, restored))
        result["rollback"] = restored.to_json()
    return project, max(exc.exit_code, 1), lines, result


def _rollback_lines(project: str, restored: AutoRollback) -> list[str]:
    """What automatic rollback did, in the brief's voice."""
    if restored.status == "restored" and restored.point is not None:
        counts = ", ".join(
            f"{k} {v}" for k, v in sorted((restored.counts or {}).items()) if v and k != "in_sync"
        )
        return [
            f"↩️ rolled back {project} to {restored.point.short} (run {restored.point.run_id})",
            f"  rollback run {restored.run_id}: {counts or 'no change needed'}",
        ]
    if restored.status == "nothing_written":
        return [f"↩️ no rollback for {project}: the failed apply made no write"]
    if restored.status == "no_restore_point":
        return [
            f"↩️ no rollback for {project}: no earlier clean revision to restore "
            "(the vendors stay as the failed apply left them)"
        ]
    where = restored.point.describe() if restored.point else "?"
    return [f"↩️ rollback of {project} to {where} failed: {restored.message}"]


def _commit_line(done: CommitResult) -> str:
    if done.committed:
        return f"committed {done.folder}: {done.message}"
    return f"nothing to commit for {done.project} ({done.message})"


@click.command()
@project_selection
@click.option(
    "--limit",
    type=click.IntRange(1, 100),
    default=5,
    show_default=True,
    help="How many recent runs to show.",
)
@output_option("text", "json")
@click.pass_context
def status(ctx: click.Context, projects: tuple[str, ...], all_projects: bool, limit: int) -> None:
    """Last runs, each system's state, unfinished operations and the command that resumes.

    Also the credentials not settled yet: client-secret mints a stopped run never recorded
    the answer of, and revocations owed (a replaced secret before it is revoked). Reads
    the run journal only (no vendor request).

    \b
    Example:
      converge status journal
    """
    workspace = workspace_from_context(ctx)
    names = select_projects(workspace, projects, all_projects)
    json_out = output_format(ctx) == "json"
    report: list[dict[str, Any]] = []
    with workspace_journal(workspace) as journal:
        for name in names:
            state = journal.project_status(name, limit)
            systems = system_states(journal, name, state.unfinished)
            credentials = unsettled_credentials(journal, name)
            holder = read_lock_holder(journal, name)
            resume = f"converge apply {shlex.quote(name)}"
            needs_resume = state.needs_resume or bool(credentials)
            report.append(
                {
                    "project": name,
                    "runs": [
                        {
                            "id": r.id,
                            "command": r.command,
                            "result": r.result,
                            "started_at": r.started_at,
                            "finished_at": r.finished_at,
                            "counts": dict(r.counts),
                            "decision_id": r.decision_id,
                        }
                        for r in state.runs
                    ],
                    "unfinished": [
                        {
                            "system": o.system,
                            "kind": o.kind,
                            "name": o.name,
                            "action": o.action,
                            "state": o.state,
                            "run_id": o.run_id,
                        }
                        for o in state.unfinished
                    ],
                    "systems": [
                        {
                            "system": s.system,
                            "state": s.state,
                            "managed_objects": s.managed,
                            "last_applied": s.last_applied,
                            "last_run": s.last_run,
                            "unfinished": s.unfinished,
                        }
                        for s in systems
                    ],
                    "credentials": [
                        {
                            "system": c.system,
                            "kind": c.kind,
                            "parent": c.parent_name,
                            "credential_id": c.credential_id,
                            "state": c.state,
                            "due_at": c.due_at,
                            "reason": c.reason,
                            "run_id": c.run_id,
                        }
                        for c in credentials
                    ],
                    "locked_by": holder.describe() if holder else None,
                    "resume": resume if needs_resume else None,
                }
            )
            if json_out:
                continue
            click.echo(f"📊 Status of {name}")
            if holder:
                click.echo(f"  🔒 locked by {holder.describe()}")
            for system in systems:
                when = f", last applied {system.last_applied}" if system.last_applied else ""
                click.echo(
                    f"  {system.system:<10} {system.state}: {system.managed} managed objects{when}"
                )
            if not state.runs:
                click.echo("  no runs yet")
            for run in state.runs:
                counts = ", ".join(f"{k} {v}" for k, v in sorted(run.counts.items()) if v)
                colour = {"succeeded": "green", "running": "yellow"}.get(run.result, "red")
                click.echo(
                    f"  {run.started_at}  {run.command:<12} {paint(run.result, colour):<11}"
                    f" {run.id}  {counts}"
                )
            for op in state.unfinished:
                click.echo(
                    f"  ⚠️  unfinished: {op.action} {op.system} {op.kind} {op.name} "
                    f"({op.state}, run {op.run_id})"
                )
            for cred in credentials:
                if cred.state == "minting":
                    click.echo(
                        f"  🔑 unsettled mint: {cred.describe()} (run {cred.run_id} stopped "
                        "before recording the answer; apply revokes it if it was made)"
                    )
                else:
                    click.echo(
                        f"  🔑 revocation pending: {cred.describe()} (due {cred.due_at}: "
                        f"{cred.reason})"
                    )
            if needs_resume:
                click.echo(f"  ▶ resume with: {resume}")
    finish(0, {"projects": report})


@click.group()
@output_option("text", "json")
def audit() -> None:
    """Check the append-only audit log (reconciliation.log) against the journal."""


@audit.command("verify")
@click.option("--head", default=None, help="Expected sha256 of the last line, kept elsewhere.")
@output_option("text", "json")
@click.pass_context
def audit_verify(ctx: click.Context, head: str | None) -> None:
    """Check reconciliation.log against the journal; exit 1 naming each problem.

    The journal keeps every line's hash and every run, so an edited, removed, truncated,
    emptied, deleted or rewritten log is found; --head adds an anchor kept elsewhere.

    \b
    Example:
      converge audit verify --output json
    """
    workspace = workspace_from_context(ctx)
    with workspace_journal(workspace) as journal:
        report = workspace_trail(workspace, journal).verify(head=head)
    rel = workspace.settings.audit_log
    if output_format(ctx) == "json":
        finish(0 if report.ok else 1, report.to_json())
    for problem in report.problems:
        click.echo(f"{rel}:{problem.line}: {problem.message}")
    for note in report.notes:
        click.echo(f"{rel}: note: {note}")
    if not report.ok:
        sys.exit(1)
    anchored = f", matches the journal (head #{report.head.seq})" if report.head else ""
    click.echo(f"{rel}: {report.entries} entries, chain intact{anchored}")
    sys.exit(0)


@audit.command("reseal")
@click.option(
    "--reason",
    required=True,
    help="Why the lost or edited lines are accepted (kept in the log forever).",
)
@output_option("text", "json")
@click.pass_context
def audit_reseal(ctx: click.Context, reason: str) -> None:
    """Accept a truncated or edited reconciliation.log, recording what was lost.

    Appends a reseal entry (the journal's head, the line the file ends with, the
    problems, the reason and the actor) after which applies log again; audit verify
    reports it forever. Refused when the log matches the journal.

    \b
    Example:
      converge audit reseal --reason "restored from the 02:00 backup"
    """
    workspace = workspace_from_context(ctx)
    with workspace_journal(workspace) as journal:
        trail = workspace_trail(workspace, journal)
        done = trail.reseal(reason, actor=current_actor())
    if output_format(ctx) == "json":
        finish(
            0,
            {
                "seq": done.seq,
                "recorded": (
                    {"seq": done.recorded.seq, "sha": done.recorded.sha}
                    if done.recorded
                    else None
                ),
                "found_seq": done.found_seq,
                "lost": list(done.lost) if done.lost else None,
                "problems": list(done.problems),
            },
        )
    click.echo(describe_reseal(workspace.settings.audit_log, done))
    sys.exit(0)
