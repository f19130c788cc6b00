"""What the dashboard shows, built from the workspace, the journal and the audit log alone.

Why a library of its own: the web layer (``converge.dashboard``, an optional extra) only
renders these records into HTML; building them is plain, testable code with no web
dependency, and it makes no vendor request (the dashboard must stay cheap to refresh and
must never hold a vendor credential's power). Sources:

* projects: ``projects/*/`` of the workspace plus every project the journal knows;
  ``project.yaml`` for the description, owners and rollout waves (read only: a file
  that does not load is shown as such, by location, never by content);
* runs, unfinished operations, lock holders: the journal (``converge status``'s data);
* drift: ``ops.drift_ages`` (each drifted field and since when), and the last drift
  check's summary (``Journal.reports``, kind ``drift``);
* rollout: the waves ``project.yaml`` plans (``ops.rollout.waves_for``) and the last
  rollout's report with each wave's gate (kind ``rollout``);
* pending revocations: ``engine.status.unsettled_credentials`` (with due times);
* the last plan: kind ``plan`` (values already masked: ``(sensitive)``);
* the audit chain: ``AuditTrail.verify`` (the log against the journal).

Nothing here reads a secret: the journal holds none, and the plan's secret values are
masked before they are stored.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from converge.config.models import Project
from converge.config.workspace import Workspace
from converge.engine.audit_trail import workspace_trail
from converge.engine.journal import Journal, OperationRecord, RunRecord, StoredReport
from converge.engine.locks import read_lock_holder
from converge.engine.status import SystemState, system_states, unsettled_credentials
from converge.errors import ConfigError, ConfigErrors, ConvergeError
from converge.ops.drift_ages import DriftAge, drift_ages, parse_time
from converge.ops.metrics_journal import journal_projects
from converge.ops.rollout import waves_for

RUNS_ON_PAGE = 20
_WRITING_RESULTS = ("succeeded",)


# -- formatting (pure) ------------------------------------------------------------------


def format_age(seconds: float) -> str:
    """``42 s``, ``3 min``, ``2 h 5 min``, ``3 d 4 h``: an age a person reads at a glance."""
    whole = max(int(seconds), 0)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


def format_time(stamp: str | None) -> str:
    """The journal's ``2025-06-01T12:00:00.123456Z`` as ``2025-06-01 12:00:00 UTC``."""
    if not stamp:
        return "—"
    try:
        moment = parse_time(stamp)
    except ValueError:
        return stamp
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def format_value(value: Any) -> str:
    """A plan value as text (strings as they are, the rest as JSON)."""
    if isinstance(value, str):
        return value if value else '""'
    if value is None:
        return "(none)"
    return json.dumps(value, sort_keys=True)


def shown_url(url: str) -> str:
    """A probe URL without user, password, query or fragment (they may hold a token)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


# -- records ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    """A project's state in one word, with a symbol and a sentence (never colour alone).

    ``key``: ok | drift | failed | resume | running | attention | never."""

    key: str
    label: str
    symbol: str
    detail: str


@dataclass(frozen=True)
class RunView:
    id: str
    command: str
    result: str
    started_at: str
    finished_at: str | None
    duration: str
    counts: str
    actor: str
    git_revision: str | None
    decision_id: str | None

    @classmethod
    def of(cls, run: RunRecord) -> RunView:
        duration = "—"
        if run.finished_at:
            seconds = (parse_time(run.finished_at) - parse_time(run.started_at)).total_seconds()
            duration = f"{seconds:.1f} s" if seconds < 60 else format_age(seconds)
        counts = ", ".join(f"{k} {v}" for k, v in sorted(run.counts.items()) if v)
        return cls(
            id=run.id,
            command=run.command,
            result=run.result,
            started_at=format_time(run.started_at),
            finished_at=format_time(run.finished_at) if run.finished_at else None,
            duration=duration,
            counts=counts or "no change",
            actor=run.actor,
            git_revision=run.git_revision[:12] if run.git_revision else None,
            decision_id=run.decision_id[:19] if run.decision_id else None,
        )


@dataclass(frozen=True)
class DriftView:
    """One drifted field (``field`` "": the whole object) and how long it has drifted.
    ``maybe_healed``: a run applied its system successfully after it was last seen (the
    next drift check confirms)."""

    system: str
    object_key: str
    field: str
    kind: str
    first_seen: str
    last_seen: str
    age: str
    age_seconds: float
    maybe_healed: bool


@dataclass(frozen=True)
class SystemView:
    """What converge manages in one system (``engine.status.SystemState``, for people)."""

    system: str
    state: str
    managed: int
    last_applied: str
    last_run: str | None
    unfinished: int

    @classmethod
    def of(cls, state: SystemState) -> SystemView:
        return cls(
            system=state.system,
            state=state.state,
            managed=state.managed,
            last_applied=format_time(state.last_applied),
            last_run=state.last_run,
            unfinished=state.unfinished,
        )


@dataclass(frozen=True)
class RevocationView:
    """A credential whose fate is not settled: a revocation owed (with its due time) or a
    mint a stopped run never recorded the answer of."""

    system: str
    kind: str
    parent: str
    credential: str
    state: str
    due_at: str | None
    due_in: str
    overdue: bool
    reason: str


@dataclass(frozen=True)
class GateCheckView:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class WaveView:
    number: int
    regions: str
    systems: str
    status: str  # planned | applied | failed | pending
    run_id: str | None
    gate_passed: bool | None
    checks: tuple[GateCheckView, ...]
    rolled_back: bool


@dataclass(frozen=True)
class RolloutView:
    """The waves project.yaml plans and, once a rollout ran, how its waves and gates went."""

    waves: tuple[WaveView, ...]
    gate: str
    on_failure: str
    configured: bool
    outcome: str | None = None
    message: str | None = None
    recorded_at: str | None = None
    revision: str | None = None


@dataclass(frozen=True)
class DriftCheckView:
    """When drift was last checked, and what it found (counts only)."""

    checked_at: str
    age: str
    systems: str
    counts: str
    has_drift: bool


@dataclass(frozen=True)
class ProjectOverview:
    name: str
    description: str | None
    owners: tuple[str, ...]
    in_workspace: bool
    config_problem: str | None
    status: Status
    last_run: RunView | None
    drift: tuple[DriftView, ...]
    drift_check: DriftCheckView | None
    rollout: RolloutView | None
    revocations: tuple[RevocationView, ...]
    locked_by: str | None
    systems: tuple[SystemView, ...]

    @property
    def open_drift(self) -> tuple[DriftView, ...]:
        return tuple(d for d in self.drift if not d.maybe_healed)


@dataclass(frozen=True)
class AuditView:
    """The audit log checked against the journal (``converge audit verify``)."""

    log: str
    verified: bool
    entries: int
    head_seq: int | None
    problems: tuple[str, ...]
    notes: tuple[str, ...]
    error: str | None = None


@dataclass(frozen=True)
class Overview:
    generated_at: str
    backend: str
    projects: tuple[ProjectOverview, ...]
    audit: AuditView

    def counts(self) -> dict[str, int]:
        tally: dict[str, int] = {}
        for project in self.projects:
            tally[project.status.key] = tally.get(project.status.key, 0) + 1
        return tally


@dataclass(frozen=True)
class DiffView:
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class ChangeView:
    action: str
    symbol: str
    kind: str
    label: str
    reason: str
    diffs: tuple[DiffView, ...]


@dataclass(frozen=True)
class SystemPlanView:
    system: str
    changes: tuple[ChangeView, ...]
    in_sync: int
    unverifiable: tuple[str, ...]


@dataclass(frozen=True)
class PlanView:
    """The project's last plan as stored (``plan`` / ``apply --dry-run``: planned only;
    with a run id: what that run planned and applied)."""

    command: str
    run_id: str | None
    recorded_at: str
    age: str
    counts: str
    systems: tuple[SystemPlanView, ...]
    decision_id: str | None
    rollback_revision: str | None


@dataclass(frozen=True)
class ProjectPage:
    project: ProjectOverview
    runs: tuple[RunView, ...]
    unfinished: tuple[OperationRecord, ...]
    plan: PlanView | None
    generated_at: str


# -- building -------------------------------------------------------------------------------


_SYMBOLS = {
    "ok": "✓",
    "drift": "⚠",
    "failed": "✗",
    "resume": "⏸",
    "running": "↻",
    "attention": "!",
    "never": "–",
}


def _status(
    name: str,
    runs: Sequence[RunRecord],
    unfinished: Sequence[OperationRecord],
    drift: Sequence[DriftView],
    revocations: Sequence[RevocationView],
) -> Status:
    def make(key: str, label: str, detail: str) -> Status:
        return Status(key, label, _SYMBOLS[key], detail)

    last = runs[0] if runs else None
    if last is not None and last.result == "running":
        return make("running", "running", f"{last.command} run {last.id} is running")
    if unfinished or (last is not None and last.result == "interrupted"):
        return make(
            "resume", "needs resume",
            f"a run stopped part-way; resume with: converge apply {name}",
        )
    if last is not None and last.result == "failed":
        return make("failed", "last run failed", f"{last.command} run {last.id} failed")
    open_drift = [d for d in drift if not d.maybe_healed]
    if open_drift:
        fields = len(open_drift)
        return make("drift", "drifted", f"{fields} field{'s' if fields > 1 else ''} drifted")
    if any(r.overdue for r in revocations):
        return make("attention", "revocation overdue", "a credential revocation is overdue")
    if last is None:
        return make("never", "never applied", "no run in the journal yet")
    return make("ok", "in sync", f"last run: {last.command} succeeded")


def _drift_views(
    ages: Sequence[DriftAge], runs: Sequence[RunRecord]
) -> tuple[DriftView, ...]:
    views = []
    for age in ages:
        healed = any(
            run.result in _WRITING_RESULTS
            and run.finished_at is not None
            and run.finished_at > age.last_seen
            and age.system in run.systems
            and run.command not in ("rollout",)  # a rollout's closing run writes nothing
            for run in runs
        )
        views.append(
            DriftView(
                system=age.system,
                object_key=age.object_key,
                field=age.field or "(object)",
                kind=age.kind,
                first_seen=format_time(age.first_seen),
                last_seen=format_time(age.last_seen),
                age=format_age(age.age_seconds),
                age_seconds=age.age_seconds,
                maybe_healed=healed,
            )
        )
    return tuple(views)


def _revocations(journal: Journal, project: str, now: dt.datetime) -> tuple[RevocationView, ...]:
    views = []
    for record in unsettled_credentials(journal, project):
        due = parse_time(record.due_at) if record.due_at else None
        if record.state == "minting":
            due_in = "unsettled mint: apply revokes it if it was made"
            overdue = True
        elif due is None or due <= now:
            late = format_age((now - due).total_seconds()) if due is not None else ""
            due_in = f"overdue by {late}" if late else "due now"
            overdue = True
        else:
            due_in = f"in {format_age((due - now).total_seconds())}"
            overdue = False
        views.append(
            RevocationView(
                system=record.system,
                kind=record.kind,
                parent=record.parent_name,
                credential=record.credential_id or f"(mint {record.nonce})",
                state=record.state,
                due_at=format_time(record.due_at) if record.due_at else None,
                due_in=due_in,
                overdue=overdue,
                reason=record.reason or "",
            )
        )
    return tuple(views)


def _drift_check(report: StoredReport | None, now: dt.datetime) -> DriftCheckView | None:
    if report is None:
        return None
    body = report.body
    counts = body.get("counts") or {}
    found = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()) if n)
    return DriftCheckView(
        checked_at=format_time(report.recorded_at),
        age=format_age((now - parse_time(report.recorded_at)).total_seconds()),
        systems=", ".join(str(s) for s in body.get("systems") or ()) or "—",
        counts=found or "no drift",
        has_drift=bool(body.get("has_drift")),
    )


def _gate_text(project: Project) -> str:
    if project.rollout is None:
        return "health and drift (the default gate)"
    gate = project.rollout.gate
    parts = [name for name, on in (("health", gate.health), ("drift", gate.drift)) if on]
    if gate.soak_seconds:
        parts.insert(0, f"soak {format_age(gate.soak_seconds)}")
    if gate.probe is not None:
        parts.append(f"probe {shown_url(gate.probe.url)} → {gate.probe.expect_status}")
    return ", ".join(parts) or "no check"


def _rollout(project: Project | None, report: StoredReport | None) -> RolloutView | None:
    if project is None:
        return None
    planned = waves_for(project, set((project.regions or {}).keys()))
    gate = _gate_text(project)
    on_failure = project.rollout.on_failure if project.rollout else "rollback"
    configured = project.rollout is not None or bool(project.regions)
    waves = [
        WaveView(
            number=w.number,
            regions=w.describe(),
            systems="all" if w.systems is None else ", ".join(w.systems),
            status="planned",
            run_id=None,
            gate_passed=None,
            checks=(),
            rolled_back=False,
        )
        for w in planned
    ]
    if report is None:
        return RolloutView(tuple(waves), gate, on_failure, configured)
    body = report.body
    done: list[WaveView] = []
    for item in body.get("waves") or ():
        gate_doc = item.get("gate") or None
        regions = item.get("regions") or []
        systems = item.get("systems")
        done.append(
            WaveView(
                number=int(item.get("wave", len(done) + 1)),
                regions=", ".join(str(r) for r in regions) or "all regions",
                systems=systems if isinstance(systems, str) else ", ".join(systems or ()),
                status=str(item.get("status", "pending")),
                run_id=item.get("run_id"),
                gate_passed=bool(gate_doc["passed"]) if gate_doc else None,
                checks=tuple(
                    GateCheckView(str(c.get("check")), bool(c.get("passed")),
                                  str(c.get("detail", "")))
                    for c in (gate_doc or {}).get("checks") or ()
                ),
                rolled_back=bool(item.get("rollback")),
            )
        )
    return RolloutView(
        tuple(done or waves),
        gate,
        str(body.get("on_failure", on_failure)),
        configured,
        outcome=str(body.get("outcome")) if body.get("outcome") else None,
        message=str(body.get("message")) if body.get("message") else None,
        recorded_at=format_time(report.recorded_at),
        revision=str(body["revision"])[:12] if body.get("revision") else None,
    )


def _load_config(workspace: Workspace, name: str) -> tuple[Project | None, str | None]:
    """project.yaml, or why it cannot be shown (by location only: a validation message
    could quote a value)."""
    try:
        return workspace.load_project(name).project, None
    except ConfigErrors as exc:
        where = sorted({str(e.location.file) for e in exc.errors if e.location})
        shown = ", ".join(where) or f"projects/{name}"
        count = len(exc.errors)
        return None, (
            f"{count} problem{'s' if count > 1 else ''} in {shown}: "
            f"run converge validate {name}"
        )
    except ConfigError as exc:
        shown = str(exc.location.file) if exc.location else f"projects/{name}"
        return None, f"{shown} cannot be read: run converge validate {name}"
    except ConvergeError as exc:
        return None, exc.message


def project_names(workspace: Workspace, journal: Journal) -> list[str]:
    """Every project of the workspace, then those only the journal knows, sorted."""
    return sorted(set(workspace.project_names()) | set(journal_projects(journal)))


def project_overview(
    workspace: Workspace,
    journal: Journal,
    name: str,
    *,
    now: dt.datetime | None = None,
    runs: Sequence[RunRecord] | None = None,
    unfinished: Sequence[OperationRecord] | None = None,
) -> ProjectOverview:
    """One project's card on the overview (and the head of its page)."""
    moment = now or dt.datetime.now(dt.UTC)
    in_workspace = name in workspace.project_names()
    config, problem = _load_config(workspace, name) if in_workspace else (None, None)
    recent = list(runs) if runs is not None else journal.last_runs(name, RUNS_ON_PAGE)
    open_ops = list(unfinished) if unfinished is not None else journal.unfinished_operations(name)
    drift = _drift_views(drift_ages(journal, name, now=moment), recent)
    revocations = _revocations(journal, name, moment)
    holder = read_lock_holder(journal, name)
    return ProjectOverview(
        name=name,
        description=config.description if config else None,
        owners=tuple(config.owners) if config else (),
        in_workspace=in_workspace,
        config_problem=problem,
        status=_status(name, recent, open_ops, drift, revocations),
        last_run=RunView.of(recent[0]) if recent else None,
        drift=drift,
        drift_check=_drift_check(journal.reports.last(name, "drift"), moment),
        rollout=_rollout(config, journal.reports.last(name, "rollout")),
        revocations=revocations,
        locked_by=holder.describe() if holder else None,
        systems=tuple(SystemView.of(s) for s in system_states(journal, name, open_ops)),
    )


def audit_view(workspace: Workspace, journal: Journal) -> AuditView:
    """``converge audit verify`` of the workspace's log, as the dashboard shows it."""
    log = workspace.settings.audit_log
    try:
        report = workspace_trail(workspace, journal).verify()
    except ConvergeError as exc:
        return AuditView(log, False, 0, None, (), (), error=exc.message)
    return AuditView(
        log=log,
        verified=report.ok,
        entries=report.entries,
        head_seq=report.head.seq if report.head else None,
        problems=tuple(str(p) for p in report.problems),
        notes=tuple(report.notes),
    )


def build_overview(
    workspace: Workspace, journal: Journal, *, now: dt.datetime | None = None
) -> Overview:
    """The dashboard's front page: every project and the audit chain."""
    moment = now or dt.datetime.now(dt.UTC)
    projects = tuple(
        project_overview(workspace, journal, name, now=moment)
        for name in project_names(workspace, journal)
    )
    return Overview(
        generated_at=format_time(moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")),
        backend=journal.backend,
        projects=projects,
        audit=audit_view(workspace, journal),
    )


def plan_view(report: StoredReport | None, now: dt.datetime) -> PlanView | None:
    """The stored last plan as rows (values formatted; secret ones were stored masked)."""
    if report is None:
        return None
    body = report.body
    counts = body.get("counts") or {}
    systems = []
    for system in body.get("systems") or ():
        changes = tuple(
            ChangeView(
                action=str(c.get("action", "")),
                symbol=_ACTION_SYMBOLS.get(str(c.get("action", "")), "?"),
                kind=str(c.get("kind", "")),
                label=str(c.get("label") or c.get("name", "")),
                reason=str(c.get("reason") or ""),
                diffs=tuple(
                    DiffView(str(d.get("field", "")), format_value(d.get("before")),
                             format_value(d.get("after")))
                    for d in c.get("diffs") or ()
                ),
            )
            for c in system.get("changes") or ()
        )
        systems.append(
            SystemPlanView(
                system=str(system.get("system", "")),
                changes=changes,
                in_sync=int(system.get("in_sync", 0)),
                unverifiable=tuple(str(u) for u in system.get("unverifiable") or ()),
            )
        )
    shown = ", ".join(f"{n} to {action}" for action, n in counts.items() if n)
    return PlanView(
        command=report.command,
        run_id=report.run_id,
        recorded_at=format_time(report.recorded_at),
        age=format_age((now - parse_time(report.recorded_at)).total_seconds()),
        counts=shown or "no change",
        systems=tuple(systems),
        decision_id=str(body["decision_id"])[:19] if body.get("decision_id") else None,
        rollback_revision=(
            str(body["rollback_revision"])[:12] if body.get("rollback_revision") else None
        ),
    )


_ACTION_SYMBOLS: Mapping[str, str] = {
    "create": "+", "update": "~", "delete": "-", "adopt": "&", "conflict": "!",
}


def build_project_page(
    workspace: Workspace,
    journal: Journal,
    name: str,
    *,
    now: dt.datetime | None = None,
    limit: int = RUNS_ON_PAGE,
) -> ProjectPage | None:
    """One project's page (its runs and last plan); None for a project nobody knows."""
    if name not in project_names(workspace, journal):
        return None
    moment = now or dt.datetime.now(dt.UTC)
    runs = journal.last_runs(name, limit)
    unfinished = journal.unfinished_operations(name)
    overview = project_overview(
        workspace, journal, name, now=moment, runs=runs, unfinished=unfinished
    )
    return ProjectPage(
        project=overview,
        runs=tuple(RunView.of(r) for r in runs),
        unfinished=tuple(unfinished),
        plan=plan_view(journal.reports.last(name, "plan"), moment),
        generated_at=format_time(moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")),
    )


@dataclass(frozen=True)
class OverviewSource:
    """What the web layer asks for: the overview and a project's page, built on demand
    from one workspace and its open journal (thread-safe: the journal serialises)."""

    workspace: Workspace
    journal: Journal

    def overview(self) -> Overview:
        return build_overview(self.workspace, self.journal)

    def project(self, name: str) -> ProjectPage | None:
        return build_project_page(self.workspace, self.journal, name)
