"""The three renderings of a drift report (text for people, JSON for machines, markdown
for an issue or a pull-request comment), kept apart from the report itself."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from converge.engine.plan import format_value
from converge.ops.drift import FORMAT_VERSION, DriftItem, DriftReport
from converge.ops.drift_ages import parse_time

SYMBOLS = {"changed": "~", "missing": "-", "added": "+", "unmanaged": "!"}


def describe_age(first_seen: str | None, now: dt.datetime | None = None) -> str:
    """``since 2026-11-26 13:40 UTC (5m)``; empty when unknown."""
    if not first_seen:
        return ""
    start = parse_time(first_seen)
    seconds = int(((now or dt.datetime.now(dt.UTC)) - start).total_seconds())
    seconds = max(seconds, 0)
    if seconds < 60:
        age = f"{seconds}s"
    elif seconds < 3600:
        age = f"{seconds // 60}m"
    elif seconds < 86400:
        age = f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    else:
        age = f"{seconds // 86400}d{(seconds % 86400) // 3600}h"
    return f"since {start.strftime('%Y-%m-%d %H:%M')} UTC ({age})"


def summary_line(report: DriftReport) -> str:
    c = report.counts()
    unverifiable = sum(len(s.unverifiable) for s in report.systems)
    return (
        f"Drift: {len(report.items)} object(s): {c['changed']} changed, {c['missing']} missing"
        f", {c['added']} added, {c['unmanaged']} unmanaged; {unverifiable} unverifiable."
    )


def _item_lines(item: DriftItem) -> list[str]:
    age = describe_age(item.first_seen)
    head = f"  {SYMBOLS[item.kind]} {item.kind} {item.object_kind} {item.label}"
    lines = [head + (f"  [{age}]" if age else "")]
    if item.reason:
        lines.append(f"      {item.reason}")
    for f in item.fields:
        lines.append(
            f"      {f.field}: desired {format_value(f.desired)}, actual {format_value(f.actual)}"
        )
    return lines


def render_text(report: DriftReport) -> str:
    lines = [f"🔍 Drift of {report.project} (decision {report.decision_id[:19]}…)"]
    if not report.has_drift:
        lines.append("No drift. The vendors match the rendered artifacts.")
    for system in report.systems:
        lines.append(f"{system.system}:")
        if not system.items:
            lines.append(f"  no drift ({system.in_sync} objects in sync)")
        for item in system.items:
            lines.extend(_item_lines(item))
        for note in system.unverifiable:
            lines.append(f"  ? {note} (unverifiable, not drift)")
    lines.append(summary_line(report))
    return "\n".join(lines)


def render_markdown(report: DriftReport) -> str:
    lines = [f"### converge drift: `{report.project}`", "", summary_line(report), ""]
    for system in report.systems:
        if not system.items and not system.unverifiable:
            lines += [f"**{system.system}**: no drift ({system.in_sync} objects in sync)", ""]
            continue
        lines += [
            f"**{system.system}**", "",
            "| drift | kind | object | field | desired | actual | since |",
            "|---|---|---|---|---|---|---|",
        ]
        for item in system.items:
            since = _md(describe_age(item.first_seen))
            for f in item.fields or ():
                lines.append(
                    f"| {item.kind} | {item.object_kind} | `{_md(item.label)}` | `{f.field}` | "
                    f"{_md(format_value(f.desired))} | {_md(format_value(f.actual))} | {since} |"
                )
            if not item.fields:
                lines.append(
                    f"| {item.kind} | {item.object_kind} | `{_md(item.label)}` | | | | {since} |"
                )
        for note in system.unverifiable:
            lines.append(f"| unverifiable | | {_md(note)} | | | | |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def render_json(reports: Sequence[DriftReport], *, requests: int) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "has_drift": any(r.has_drift for r in reports),
        "reports": [r.to_json() for r in reports],
        "requests": requests,
    }


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
