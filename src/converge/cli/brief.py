"""The brief's human output: headings, emoji and phrases of reconciliation-workflow.md.

Each system prints one block: a heading, a section per kind of object listing every
desired object (changed ones as the brief words them, unchanged ones marked in sync),
and the closing line. Built from the desired state, the system's plan and the vendor's
summary, so the same block serves ``apply``, ``--dry-run`` and the brief's scripts.

Each line knows what it reports (``Line``): the changes it waits for (``Applying
ProjectRole: runtime (prod)`` waits for that role's change) or the end of the system (the
summary, which reads the vendor's final state). ``apply`` prints a line as soon as it and
every line above it are due (``BlockStream``), so the block streams as the changes are
applied and reads exactly as the whole block would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from converge.changes import Action, Change
from converge.desired import DesiredState
from converge.engine.plan import SystemPlan, format_value

_VERB = {
    Action.CREATE: "Applying",
    Action.UPDATE: "Applying",
    Action.ADOPT: "Adopting",
    Action.DELETE: "Deleting",
    Action.CONFLICT: "Conflict",
}


@dataclass(frozen=True)
class Line:
    """One line of a block and when it may be printed during an apply: once every change
    in ``waits`` is applied, or (``at_end``) once the system is done."""

    text: str
    waits: frozenset[str] = frozenset()
    at_end: bool = False


def _waiting(text: str, changes: Iterable[Change]) -> Line:
    return Line(text, frozenset(c.key for c in changes))


def _end(text: str) -> Line:
    return Line(text, at_end=True)


def _targets(targets: tuple[str, ...] | list[str]) -> str:
    return ", ".join(targets)


def _by_kind(plan: SystemPlan, kind: str) -> list[Change]:
    return [c for c in plan.changes if c.kind == kind]


def _changed_labels(plan: SystemPlan, kind: str) -> dict[str, Change]:
    return {c.label or c.name: c for c in _by_kind(plan, kind)}


def infisical_block(desired: DesiredState, plan: SystemPlan, *, dry_run: bool) -> list[Line]:
    would = "Would apply" if dry_run else "Applying"
    lines = [Line(f"🔄 Reconciling Infisical resources for project: {desired.project}"), Line("")]
    # In the order the workspace declares them, as the brief lists them.
    roles = sorted(desired.roles, key=lambda r: r.index)
    identities = sorted(desired.identities, key=lambda i: i.index)
    bindings = sorted(desired.bindings, key=lambda b: b.index)
    sections = (
        ("📋 Applying ProjectRoles...", "role", "ProjectRole", [r.display for r in roles]),
        (
            "🤖 Applying MachineIdentities...",
            "identity",
            "MachineIdentity",
            [f"{i.name} ({i.environment})" for i in identities],
        ),
        (
            "🔗 Applying IdentityBindings...",
            "binding",
            "IdentityBinding",
            [b.name for b in bindings],
        ),
    )
    details = {b.name: f"Identity: {b.identity} -> Role: {b.role}" for b in desired.bindings}
    applied = 0
    for heading, kind, noun, labels in sections:
        changed = _changed_labels(plan, kind)
        deletions = [c for c in changed.values() if c.action is Action.DELETE]
        if not labels and not deletions:
            continue
        lines.append(Line(heading))
        for label in labels:
            change = changed.get(label)
            if change is None:
                lines.append(Line(f"  ✓ {noun}: {label} (in sync)"))
                continue
            applied += 1
            verb = would if change.action is not Action.ADOPT else _VERB[change.action]
            lines.append(_waiting(f"  {verb} {noun}: {label}", [change]))
            if label in details:
                lines.append(_waiting(f"    {details[label]}", [change]))
        for change in deletions:
            applied += 1
            verb = "Would delete" if dry_run else "Deleting"
            lines.append(_waiting(f"  {verb} {noun}: {change.label}", [change]))
        lines.append(Line(""))
    lines.append(_end("📊 Reconciliation Summary:"))
    if dry_run:
        lines.append(_end(f"  🔍 Would apply: {applied} resources"))
    else:
        lines.append(_end(f"  ✅ Applied: {applied} resources"))
    if plan.in_sync:  # the objects plan and drift count in sync (engine.objects)
        lines.append(_end(f"  ✓ In sync: {plan.in_sync} resources"))
    return lines


def vercel_block(desired: DesiredState, plan: SystemPlan, *, dry_run: bool) -> list[Line]:
    assert desired.vercel is not None
    lines = [Line(f"🔄 Reconciling Vercel environment for project: {desired.project}"), Line("")]

    def changes_of(key: str, targets: tuple[str, ...] | None = None) -> list[Change]:
        return [
            c for c in plan.changes
            if c.desired.get("key") == key
            and (targets is None or tuple(c.desired.get("targets") or ()) == targets)
        ]

    public = [v for v in desired.vercel.variables if v.kind == "public"]
    server = [v for v in desired.vercel.variables if v.kind == "server"]
    setting = "Would set" if dry_run else "Setting"
    if public:
        lines.append(Line("📋 Applying Public Environment Variables..."))
        for var in public:
            changes = changes_of(var.key, tuple(sorted(var.targets)))
            if changes:
                lines.append(_waiting(f"  {setting} {var.key} ({_targets(var.targets)})", changes))
            else:
                lines.append(Line(f"  ✓ {var.key} ({_targets(var.targets)}) is up to date"))
        lines.append(Line(""))
    if server:
        lines.append(Line("🔐 Applying Server Environment Variables..."))
        for var in server:
            lines.append(Line(f"  ✓ {var.key} is a reference (good)"))
            changes = changes_of(var.key)
            if changes:
                text = f"    {setting} {var.key} ({_targets(var.targets)}) as sensitive"
                lines.append(_waiting(text, changes))
        lines.append(Line(""))
    for change in plan.changes:
        if change.action is Action.DELETE:
            verb = "Would delete" if dry_run else "Deleting"
            lines.append(_waiting(f"  {verb} {change.label or change.name}", [change]))
    done = "would be complete" if dry_run else "complete!"
    lines.append(_end(f"✅ Vercel environment reconciliation {done}"))
    return lines


def supabase_block(
    desired: DesiredState, plan: SystemPlan, summary: Mapping[str, Any], *, dry_run: bool
) -> list[Line]:
    assert desired.supabase is not None
    sb = desired.supabase
    project = desired.project
    lines = [Line(f"🔄 Reconciling Supabase configuration for project: {project}"), Line("")]
    several = len(sb.projects) > 1
    lines.append(Line("🔐 Applying Authentication Settings..."))
    for ref in sb.projects:
        where = f" ({ref.region or ref.environment}: {ref.ref})" if several else ""
        jwt_exp = sb.auth.get("jwt_exp")
        prefix = "🔍 Would configure JWT" if dry_run else "✅ JWT configured"
        auth = [
            c for c in plan.changes if c.kind == "auth" and ref.ref in (c.label or c.name)
        ]
        lines.append(_waiting(f"  {prefix}: exp={jwt_exp}s{where}", auth))
        for change in auth:
            for diff in change.diffs:
                before, after = _short(diff.before), _short(diff.after)
                lines.append(_waiting(f"    {diff.field}: {before} -> {after}", [change]))
    lines.append(Line(""))
    lines.append(Line("🗄️ Applying Database Settings..."))
    rls = [c for c in plan.changes if c.kind == "rls"]
    enforced = bool(sb.rls_enforce) and (dry_run is False or not rls)
    if dry_run and rls:
        lines.append(Line(f"  🔍 RLS enforced: false ({len(rls)} tables would be changed)"))
    else:
        state = summary.get("rls_enforced", enforced)
        lines.append(_end(f"  ✅ RLS enforced: {str(bool(state)).lower()}"))
    for change in plan.changes:
        if change.kind == "postgrest" and change.diffs:
            before, after = change.diffs[0].before, change.diffs[0].after
            where = (change.label or change.name).split()[-1]
            verb = "would expose" if dry_run else "exposed"
            text = f"    {verb} schemas: {_short(before)} -> {_short(after)} ({where})"
            lines.append(_waiting(text, [change]))
    for change in rls:
        verb = "would enable" if dry_run else "enabled"
        where = f" ({change.name.split('/')[0]})" if several else ""
        text = f"    {verb} row-level security on {change.label or change.name}{where}"
        lines.append(_waiting(text, [change]))
    lines.append(Line(""))
    if sb.publish:
        lines.append(Line("🌍 Applying Environment Variables..."))
        published = {c.name: c for c in plan.changes if c.kind == "publish"}
        # The project URL first, as the brief prints it.
        for entry in sorted(sb.publish, key=lambda e: (e["from"] != "url", e["key"])):
            key = entry["key"]
            if key not in published:
                lines.append(Line(f"  ✓ {key} is up to date"))
                continue
            mark = "🔍 Would set" if dry_run else "✅ Setting"
            lines.append(_waiting(f"  {mark} {key}", [published[key]]))
        lines.append(Line(""))
    done = "would be complete" if dry_run else "complete"
    lines.append(_end(f"✅ Supabase reconciliation {done} for project: {project}"))
    return lines


def _short(value: Any) -> str:
    text = format_value(value)
    return text if len(text) <= 60 else text[:57] + "..."


def block_lines(
    desired: DesiredState, plan: SystemPlan, summary: Mapping[str, Any], *, dry_run: bool
) -> list[Line]:
    """The system's block, each line with what it waits for."""
    if plan.system == "infisical":
        return infisical_block(desired, plan, dry_run=dry_run)
    if plan.system == "vercel":
        return vercel_block(desired, plan, dry_run=dry_run)
    return supabase_block(desired, plan, summary, dry_run=dry_run)


def system_block(
    desired: DesiredState, plan: SystemPlan, summary: Mapping[str, Any], *, dry_run: bool
) -> list[str]:
    """The system's whole block (a dry run, or a project printed when it is done)."""
    return [line.text for line in block_lines(desired, plan, summary, dry_run=dry_run)]


@dataclass
class BlockStream:
    """One system's block printed as its changes are applied: ``applied`` releases the
    lines waiting for that change (and every line below them that waits for nothing
    else), ``finish`` the rest, rebuilt with the vendor's summary. Lines above a line
    not due yet wait for it, so the printed block is the whole block, in its order."""

    desired: DesiredState
    plan: SystemPlan
    emit: Callable[[list[str]], None]
    printed: int = 0
    done: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._lines = block_lines(self.desired, self.plan, {}, dry_run=False)
        self._release()

    def applied(self, change: Change) -> None:
        self.done.add(change.key)
        self._release()

    def finish(self, summary: Mapping[str, Any]) -> None:
        lines = block_lines(self.desired, self.plan, summary, dry_run=False)
        rest = [line.text for line in lines[self.printed :]]
        self.printed = len(lines)
        if rest:
            self.emit(rest)

    def _release(self) -> None:
        due: list[str] = []
        for line in self._lines[self.printed :]:
            if line.at_end or not line.waits <= self.done:
                break
            due.append(line.text)
        self.printed += len(due)
        if due:
            self.emit(due)
