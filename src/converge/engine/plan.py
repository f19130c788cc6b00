"""A project's plan: the ordered changes of every system, and its three renderings.

The plan is data (frozen, deterministic order, JSON with a ``format_version``); the text,
JSON and markdown renderers are separate functions so the CLI, a pull-request comment and
a CI job all show the same plan.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from converge.changes import Action, Change, order_changes

FORMAT_VERSION = 1


@dataclass(frozen=True)
class SystemPlan:
    """The changes for one system, plus the desired objects already in sync."""

    system: str
    changes: tuple[Change, ...]
    in_sync: int = 0  # desired objects that need no change
    unverifiable: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "changes", order_changes(self.changes))


@dataclass(frozen=True)
class Plan:
    project: str
    decision_id: str
    manifest_digest: str
    systems: tuple[SystemPlan, ...]
    # The earlier git revision these artifacts are (the brief's rollback recipe), verified.
    rollback_revision: str | None = None

    @property
    def changes(self) -> tuple[Change, ...]:
        return order_changes(c for s in self.systems for c in s.changes)

    @property
    def writes(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action.writes)

    @property
    def empty(self) -> bool:
        return not self.changes

    def counts(self) -> dict[str, int]:
        tally = Counter(c.action.value for c in self.changes)
        return {a.value: tally.get(a.value, 0) for a in Action}

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "project": self.project,
            "decision_id": self.decision_id,
            "manifest_digest": self.manifest_digest,
            "rollback_revision": self.rollback_revision,
            "counts": self.counts(),
            "systems": [
                {
                    "system": s.system,
                    "changes": [c.to_json() for c in s.changes],
                    "in_sync": s.in_sync,
                    "unverifiable": list(s.unverifiable),
                }
                for s in self.systems
            ],
        }


def format_value(value: Any) -> str:
    if isinstance(value, str):
        return value if value else '""'
    if value is None:
        return "(none)"
    import json

    return json.dumps(value, sort_keys=True)


def summary_line(plan: Plan) -> str:
    c = plan.counts()
    return (
        f"Plan: {c['create']} to create, {c['update']} to update, {c['delete']} to delete"
        f", {c['adopt']} to adopt, {c['conflict']} conflicts."
    )


def render_text(plan: Plan) -> str:
    """Terraform-like text: one line per change, indented field diffs, a summary."""
    lines = [f"Plan for {plan.project} (decision {plan.decision_id[:19]}…)"]
    if plan.rollback_revision:
        lines.append(_rollback_note(plan))
    if plan.empty:
        lines.append("No changes. Infrastructure matches the rendered artifacts.")
    for system in plan.systems:
        lines.append(f"{system.system}:")
        if not system.changes:
            lines.append(f"  in sync ({system.in_sync} objects)")
        for change in system.changes:
            lines.append(f"  {change.action.symbol} {change.kind} {change.label or change.name}")
            if change.reason:
                lines.append(f"      {change.reason}")
            for diff in change.diffs:
                lines.append(
                    f"      {diff.field}: {format_value(diff.before)} -> {format_value(diff.after)}"
                )
        for item in system.unverifiable:  # each note says why it cannot be verified
            lines.append(f"  ? {item}")
    lines.append(summary_line(plan))
    return "\n".join(lines)


def render_markdown(plan: Plan) -> str:
    """A pull-request comment: a summary and one table per system with changes."""
    lines = [
        f"### converge plan: `{plan.project}`",
        "",
        f"Decision `{plan.decision_id[:19]}…` · {summary_line(plan)}",
        "",
    ]
    if plan.rollback_revision:
        lines += [_rollback_note(plan), ""]
    for system in plan.systems:
        if not system.changes and not system.unverifiable:
            lines.append(f"**{system.system}**: in sync ({system.in_sync} objects)")
            lines.append("")
            continue
        lines += [f"**{system.system}**", "", "| | kind | object | changes |", "|---|---|---|---|"]
        for change in system.changes:
            fields = "<br>".join(
                f"`{d.field}`: {_md(format_value(d.before))} → {_md(format_value(d.after))}"
                for d in change.diffs
            )
            detail = fields or _md(change.reason)
            label = change.label or change.name
            lines.append(f"| {change.action.value} | {change.kind} | `{label}` | {detail} |")
        for item in system.unverifiable:
            label, _, why = item.partition(": ")
            lines.append(f"| unverifiable | | `{label}` | {_md(why)} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _rollback_note(plan: Plan) -> str:
    revision = (plan.rollback_revision or "")[:12]
    return (
        f"Rollback: planning the artifacts of {revision} (inputs re-checked from git, "
        "allowed by today's rules); apply re-applies them as a rollback."
    )


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
