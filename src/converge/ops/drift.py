"""Drift: the rendered, verified artifacts (desired) against what the vendors hold (actual).

Built on the engine's observe → diff, but read as a report instead of a to-do list: each
planned change becomes a drift of one object, each of its field diffs a field with the
desired and the actual value. Kinds:

``changed``    the object is there but fields differ (a TTL edited in the dashboard, RLS
               turned off on a table converge secured, a sensitive value replaced: seen
               through its change marker or keyed fingerprint, never by reading it).
``missing``    a desired object is absent (deleted out of band, or never applied).
``added``      something converge acts on appeared: a managed object the artifacts no
               longer declare (a role granted to a managed identity in the dashboard),
               or a table of a declared schema without row-level security that converge
               never secured (a new table).
``unmanaged``  an object converge does not manage stands where a desired one goes (a
               Vercel variable of the same key and targets made by hand).
               ``converge apply --adopt`` takes it over.

Client secrets (Infisical, object kind ``client-secret``, issue 8): a live Universal Auth
client secret of an identity whose secret the project delivers, that no converge variable
holds (``cs=`` in its marker) and that no pending revocation covers, is drift: ``added``
when converge minted it (a replaced secret, a lost mint answer, a killed run's: ``apply``
revokes it), ``unmanaged`` when it was made outside converge (reported only: converge
never revokes a secret it did not mint). Checked when both Infisical and Vercel are (the
default; ``--system`` one of them skips it). See ``engine.credentials``.

Unmanaged objects that are *not* in the way (the seeded ``SEGMENT_WRITE_KEY``, another
team's variables, identities of other projects) are never drift: converge does not own
them, ``apply`` would never touch them, and reporting them would make drift permanent.
Fields the vendors will not reveal and for which there is no journal marker (a client
secret converge never applied, an auth secret not readable at plan time) are listed as
*unverifiable*, never as drift.

Reads: Vercel and Supabase are observed with the journal's change markers, as ``plan``
does (a moved marker is how a replaced write-only value shows). Infisical is observed
with every marker forced to a value that cannot match, so each desired role's
permissions and each identity's metadata and universal-auth settings are read one by
one: universal-auth edits do not move the identity's list marker, and ``plan`` skips
those reads on purpose. Drift therefore costs a few more Infisical requests than plan.

``detect_drift`` makes no vendor write. With ``record=True`` (the default) it records in
the journal's database when each drift was first seen (``drift_ages``), so metrics can
export drift age, and it clears the journal marker of each Infisical object it found
drifted (``forget_stale_markers``), so the next ``apply`` reads that object again and
heals it: without that, a universal-auth edit would stay invisible to ``apply``. It also
keeps a summary of the check (``drift_summary``: systems and counts, no value) as the
project's last drift report, so the dashboard can say when drift was last checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from converge.changes import Action, Change, change_key
from converge.engine.context import ReconcileOptions, RunContext
from converge.engine.credentials import CredentialCheck, check_credentials
from converge.engine.journal import Journal, ManagedObject
from converge.engine.objects import count_in_sync, system_objects
from converge.engine.reconcile import load_desired, select_regions
from converge.engine.session import open_session
from converge.ops.drift_ages import SeenDrift, record_drift

DriftKind = Literal["changed", "missing", "added", "unmanaged"]
DRIFT_KINDS: tuple[DriftKind, ...] = ("changed", "missing", "added", "unmanaged")
FORCED_MARKER = "drift:read-everything"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class FieldDrift:
    """One field that differs: what the artifacts say and what the vendor holds."""

    field: str
    desired: Any
    actual: Any

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "desired": self.desired, "actual": self.actual}


@dataclass(frozen=True)
class DriftItem:
    """One object that drifted, with its fields and when the drift was first seen."""

    system: str
    object_kind: str
    name: str
    label: str
    kind: DriftKind
    fields: tuple[FieldDrift, ...]
    reason: str = ""
    first_seen: str | None = None

    @property
    def key(self) -> str:
        return change_key(self.system, self.object_kind, self.name)

    def field_names(self) -> tuple[str, ...]:
        return tuple(f.field for f in self.fields) or ("",)

    def to_json(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "object_kind": self.object_kind,
            "name": self.name,
            "key": self.key,
            "label": self.label,
            "kind": self.kind,
            "fields": [f.to_json() for f in self.fields],
            "reason": self.reason,
            "first_seen": self.first_seen,
        }


@dataclass(frozen=True)
class SystemDrift:
    system: str
    items: tuple[DriftItem, ...]
    in_sync: int = 0
    unverifiable: tuple[str, ...] = ()


@dataclass(frozen=True)
class DriftReport:
    """The drift of one project: ``has_drift`` is what a gate or an exit code needs."""

    project: str
    decision_id: str
    systems: tuple[SystemDrift, ...]
    requests: int = 0

    @property
    def items(self) -> tuple[DriftItem, ...]:
        return tuple(i for s in self.systems for i in s.items)

    @property
    def has_drift(self) -> bool:
        return bool(self.items)

    def counts(self) -> dict[str, int]:
        return {k: sum(1 for i in self.items if i.kind == k) for k in DRIFT_KINDS}

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "project": self.project,
            "decision_id": self.decision_id,
            "has_drift": self.has_drift,
            "counts": self.counts(),
            "systems": [
                {
                    "system": s.system,
                    "drift": [i.to_json() for i in s.items],
                    "in_sync": s.in_sync,
                    "unverifiable": list(s.unverifiable),
                }
                for s in self.systems
            ],
        }


# -- classification (pure) --------------------------------------------------------------


def classify_change(change: Change, *, known: frozenset[str] = frozenset()) -> DriftItem:
    """The drift a planned change stands for. ``known`` holds the change keys the journal
    records as managed (a table converge secured before is ``changed`` when its RLS is
    off again; one it never touched is ``added``)."""
    fields = tuple(FieldDrift(d.field, d.after, d.before) for d in change.diffs)
    kind: DriftKind
    reason = change.reason
    if change.action is Action.CREATE:
        kind = "missing"
        reason = (
            "deleted outside converge (converge had applied it)"
            if change.key in known
            else "missing in the vendor (never applied, or deleted outside converge)"
        )
    elif change.action is Action.DELETE:
        kind = "added"
    elif change.action in (Action.CONFLICT, Action.ADOPT):
        kind = "unmanaged"
    elif change.system == "supabase" and change.kind == "rls" and change.key not in known:
        kind = "added"
        reason = "a table without row-level security that converge never secured (new table?)"
    else:
        kind = "changed"
    return DriftItem(
        system=change.system,
        object_kind=change.kind,
        name=change.name,
        label=change.label or change.name,
        kind=kind,
        fields=fields,
        reason=reason,
    )


# -- detection (I/O) ---------------------------------------------------------------------


def drift_markers(managed: Sequence[ManagedObject], system: str) -> dict[str, str]:
    """The markers observe gets: the journal's, except Infisical, where every key the
    journal knows maps to a marker that never matches (full per-object reads, and managed
    objects stay deletion candidates)."""
    if system == "infisical":
        return {m.key: FORCED_MARKER for m in managed}
    return {m.key: m.marker for m in managed if m.marker}


def detect_drift(
    context: RunContext,
    project: str,
    *,
    systems: Sequence[str] | None = None,
    record: bool = True,
    regions: tuple[str | None, ...] | None = None,
) -> DriftReport:
    """Observe every system of ``project`` (or only ``systems``) and report its drift.

    ``context.journal`` makes sensitive values verifiable through its markers, and drift
    ages are recorded in its database when ``record`` (a context without a journal checks
    without either). ``regions`` limits Supabase to the refs of those regions (a rollout
    wave; ages are then not recorded, as the check saw only part of the project).
    Infisical is observed with forced markers (``drift_markers``): every role's
    permissions and every identity's metadata and universal auth are read, the reads
    ``plan`` avoids. With ``record`` and a journal, the markers of drifted Infisical
    objects are also cleared (``forget_stale_markers``) so the next apply heals them.
    Raises ConvergeError (stale artifacts, a denied decision, a refused credential).
    No vendor write is made.
    """
    journal = context.journal
    before = context.counter.total()
    options = ReconcileOptions(
        systems=tuple(systems) if systems else None, command="drift", regions=regions
    )
    desired = select_regions(load_desired(context.workspace, project), regions)
    found: list[SystemDrift] = []
    with open_session(context, desired, options) as session:
        for system in session.systems:
            reconciler = session.reconciler(system)
            managed = journal.managed_objects(project, system) if journal else []
            reconciler.observe(markers=drift_markers(managed, system))
            changes = list(reconciler.diff())
            known = frozenset(m.key for m in managed)
            found.append(
                SystemDrift(
                    system=system,
                    items=tuple(classify_change(c, known=known) for c in changes),
                    in_sync=count_in_sync(
                        system_objects(reconciler.desired_keys(), managed), changes
                    ),
                    unverifiable=tuple(note.describe() for note in reconciler.notes),
                )
            )
        if {"infisical", "vercel"} <= set(session.systems):
            # Held is read from Vercel: checked when both systems are (the default).
            found = _with_credentials(found, check_credentials(session, journal))
    report = DriftReport(
        project=project,
        decision_id=desired.decision_id,
        systems=tuple(found),
        requests=context.counter.total() - before,
    )
    if record and journal is not None:
        forget_stale_markers(journal, project, found)
        if regions is None:
            found = _with_ages(journal, project, session.systems, found)
            report = DriftReport(project, desired.decision_id, tuple(found), report.requests)
            journal.reports.record(project, "drift", drift_summary(report), command="drift")
    return report


def drift_summary(report: DriftReport) -> dict[str, Any]:
    """What the journal keeps of a drift check for the dashboard: the systems checked and
    the counts per kind, never a field's value (``DriftReport.to_json`` has them)."""
    return {
        "format_version": FORMAT_VERSION,
        "systems": [s.system for s in report.systems],
        "has_drift": report.has_drift,
        "counts": report.counts(),
        "in_sync": sum(s.in_sync for s in report.systems),
        "unverifiable": sum(len(s.unverifiable) for s in report.systems),
    }


CLIENT_SECRET_KIND = "client-secret"


def credential_drift(check: CredentialCheck) -> tuple[DriftItem, ...]:
    """Each unheld client secret as a drift item (see the module docstring)."""
    items = []
    for credential in check.unheld:
        ref = credential.ref
        reason = (
            "minted by converge and held by no variable (replaced, its mint answer lost, "
            "or never delivered); apply revokes it"
            if credential.minted_here
            else "made outside converge and held by no converge variable; converge never "
            "revokes it: revoke it in Infisical if nobody uses it"
        )
        items.append(DriftItem(
            system="infisical",
            object_kind=CLIENT_SECRET_KIND,
            name=f"{ref.parent_name}/{ref.credential_id}",
            label=f"client secret {ref.credential_id} of {ref.parent_name}",
            kind="added" if credential.minted_here else "unmanaged",
            fields=(FieldDrift("held_by", "a converge variable", None),),
            reason=reason,
        ))
    return tuple(items)


def _with_credentials(found: list[SystemDrift], check: CredentialCheck) -> list[SystemDrift]:
    note = (
        ("client secrets: a variable does not say which secret it holds; unheld secrets "
         "cannot be told apart: unverifiable",) if check.unknown_holders else ()
    )
    items = credential_drift(check)
    return [
        SystemDrift(s.system, s.items + items, s.in_sync, s.unverifiable + note)
        if s.system == "infisical" else s
        for s in found
    ]


def forget_stale_markers(journal: Journal, project: str, found: Sequence[SystemDrift]) -> None:
    """Clear the journal marker of each Infisical object found drifted.

    Its list marker did not move (a universal-auth edit leaves the identity's
    ``updatedAt`` alone), so ``plan`` and ``apply`` would keep trusting it and skip the
    read that shows the drift; without a marker they read the object again, and the next
    ``apply`` heals it. Vendor state is not touched; ownership is kept."""
    keys = {i.key for s in found if s.system == "infisical" for i in s.items}
    if not keys:
        return
    for managed in journal.managed_objects(project, "infisical"):
        if managed.marker and managed.key in keys:
            journal.upsert_managed(
                project,
                managed.system,
                managed.kind,
                managed.name,
                vendor_id=managed.vendor_id,
                marker=None,
                fingerprint=managed.fingerprint,
                decision_id=managed.decision_id,
                run_id=managed.run_id,
            )


def _with_ages(
    journal: Journal, project: str, systems: Sequence[str], found: list[SystemDrift]
) -> list[SystemDrift]:
    seen = [
        SeenDrift(system=i.system, object_key=i.key, field=name, kind=i.kind)
        for s in found
        for i in s.items
        for name in i.field_names()
    ]
    first = record_drift(journal, project, systems=systems, seen=seen)
    aged: list[SystemDrift] = []
    for s in found:
        items = []
        for item in s.items:
            stamps = [first[(item.key, n)] for n in item.field_names() if (item.key, n) in first]
            items.append(
                DriftItem(
                    system=item.system,
                    object_kind=item.object_kind,
                    name=item.name,
                    label=item.label,
                    kind=item.kind,
                    fields=item.fields,
                    reason=item.reason,
                    first_seen=min(stamps) if stamps else None,
                )
            )
        aged.append(SystemDrift(s.system, tuple(items), s.in_sync, s.unverifiable))
    return aged
