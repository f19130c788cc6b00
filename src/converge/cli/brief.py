"""The brief's human output: headings, emoji and phrases of reconciliation-workflow.md.

Each system prints one block: a heading, a section per kind of object listing every
desired object (changed ones as the brief words them, unchanged ones marked in sync),
and the closing line. Built from the desired state, the system's plan and the vendor's
summary, so the same block serves ``apply``, ``--dry-run`` and the brief's scripts.
"""

from __future__ import annotations

from collections.abc import Mapping
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


def _targets(targets: tuple[str, ...] | list[str]) -> str:
    return ", ".join(targets)


def _by_kind(plan: SystemPlan, kind: str) -> list[Change]:
    return [c for c in plan.changes if c.kind == kind]


def _changed_labels(plan: SystemPlan, kind: str) -> dict[str, Change]:
    return {c.label or c.name: c for c in _by_kind(plan, kind)}


def infisical_block(desired: DesiredState, plan: SystemPlan, *, dry_run: bool) -> list[str]:
    would = "Would apply" if dry_run else "Applying"
    lines = [f"🔄 Reconciling Infisical resources for project: {desired.project}", ""]
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
        lines.append(heading)
        for label in labels:
            change = changed.get(label)
            if change is None:
                lines.append(f"  ✓ {noun}: {label} (in sync)")
                continue
            applied += 1
            verb = would if change.action is not Action.ADOPT else _VERB[change.action]
            lines.append(f"  {verb} {noun}: {label}")
            if label in details:
                lines.append(f"    {details[label]}")
        for change in deletions:
            applied += 1
            lines.append(f"  {'Would delete' if dry_run else 'Deleting'} {noun}: {change.label}")
        lines.append("")
    lines.append("📊 Reconciliation Summary:")
    if dry_run:
        lines.append(f"  🔍 Would apply: {applied} resources")
    else:
        lines.append(f"  ✅ Applied: {applied} resources")
    if plan.in_sync:  # the objects plan and drift count in sync (engine.objects)
        lines.append(f"  ✓ In sync: {plan.in_sync} resources")
    return lines


def vercel_block(desired: DesiredState, plan: SystemPlan, *, dry_run: bool) -> list[str]:
    assert desired.vercel is not None
    lines = [f"🔄 Reconciling Vercel environment for project: {desired.project}", ""]
    changed = {(c.desired.get("key"), tuple(c.desired.get("targets") or ())) for c in plan.changes}
    changed_keys = {c.desired.get("key") for c in plan.changes}
    public = [v for v in desired.vercel.variables if v.kind == "public"]
    server = [v for v in desired.vercel.variables if v.kind == "server"]
    setting = "Would set" if dry_run else "Setting"
    if public:
        lines.append("📋 Applying Public Environment Variables...")
        for var in public:
            if (var.key, tuple(sorted(var.targets))) in changed:
                lines.append(f"  {setting} {var.key} ({_targets(var.targets)})")
            else:
                lines.append(f"  ✓ {var.key} ({_targets(var.targets)}) is up to date")
        lines.append("")
    if server:
        lines.append("🔐 Applying Server Environment Variables...")
        for var in server:
            lines.append(f"  ✓ {var.key} is a reference (good)")
            if var.key in changed_keys:
                lines.append(f"    {setting} {var.key} ({_targets(var.targets)}) as sensitive")
        lines.append("")
    for change in plan.changes:
        if change.action is Action.DELETE:
            verb = "Would delete" if dry_run else "Deleting"
            lines.append(f"  {verb} {change.label or change.name}")
    done = "would be complete" if dry_run else "complete!"
    lines.append(f"✅ Vercel environment reconciliation {done}")
    return lines


def supabase_block(
    desired: DesiredState, plan: SystemPlan, summary: Mapping[str, Any], *, dry_run: bool
) -> list[str]:
    assert desired.supabase is not None
    sb = desired.supabase
    project = desired.project
    lines = [f"🔄 Reconciling Supabase configuration for project: {project}", ""]
    several = len(sb.projects) > 1
    lines.append("🔐 Applying Authentication Settings...")
    for ref in sb.projects:
        where = f" ({ref.region or ref.environment}: {ref.ref})" if several else ""
        jwt_exp = sb.auth.get("jwt_exp")
        prefix = "🔍 Would configure JWT" if dry_run else "✅ JWT configured"
        lines.append(f"  {prefix}: exp={jwt_exp}s{where}")
        for change in plan.changes:
            if change.kind == "auth" and ref.ref in (change.label or change.name):
                for diff in change.diffs:
                    before, after = _short(diff.before), _short(diff.after)
                    lines.append(f"    {diff.field}: {before} -> {after}")
    lines.append("")
    lines.append("🗄️ Applying Database Settings...")
    rls = [c for c in plan.changes if c.kind == "rls"]
    enforced = bool(sb.rls_enforce) and (dry_run is False or not rls)
    if dry_run and rls:
        lines.append(f"  🔍 RLS enforced: false ({len(rls)} tables would be changed)")
    else:
        state = summary.get("rls_enforced", enforced)
        lines.append(f"  ✅ RLS enforced: {str(bool(state)).lower()}")
    for change in plan.changes:
        if change.kind == "postgrest" and change.diffs:
            before, after = change.diffs[0].before, change.diffs[0].after
            where = (change.label or change.name).split()[-1]
            verb = "would expose" if dry_run else "exposed"
            lines.append(f"    {verb} schemas: {_short(before)} -> {_short(after)} ({where})")
    for change in rls:
        verb = "would enable" if dry_run else "enabled"
        where = f" ({change.name.split('/')[0]})" if several else ""
        lines.append(f"    {verb} row-level security on {change.label or change.name}{where}")
    lines.append("")
    if sb.publish:
        lines.append("🌍 Applying Environment Variables...")
        changed = {c.name for c in plan.changes if c.kind == "publish"}
        # The project URL first, as the brief prints it.
        for entry in sorted(sb.publish, key=lambda e: (e["from"] != "url", e["key"])):
            key = entry["key"]
            if key not in changed:
                lines.append(f"  ✓ {key} is up to date")
                continue
            mark = "🔍 Would set" if dry_run else "✅ Setting"
            lines.append(f"  {mark} {key}")
        lines.append("")
    done = "would be complete" if dry_run else "complete"
    lines.append(f"✅ Supabase reconciliation {done} for project: {project}")
    return lines


def _short(value: Any) -> str:
    text = format_value(value)
    return text if len(text) <= 60 else text[:57] + "..."


def system_block(
    desired: DesiredState, plan: SystemPlan, summary: Mapping[str, Any], *, dry_run: bool
) -> list[str]:
    if plan.system == "infisical":
        return infisical_block(desired, plan, dry_run=dry_run)
    if plan.system == "vercel":
        return vercel_block(desired, plan, dry_run=dry_run)
    return supabase_block(desired, plan, summary, dry_run=dry_run)
