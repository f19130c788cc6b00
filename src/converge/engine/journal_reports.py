"""The journal's last report of each kind per project (schema version 4).

Why: the dashboard (``converge dashboard``, ``watch``'s port) shows a project's last
plan, its last rollout with each wave's gate, and when drift was last checked, built
from the journal alone: it never asks a vendor. Those reports are computed by ``plan``,
``apply``, ``rollout`` and ``drift`` and were printed, then lost; each command now keeps
its newest one here (one row per project and kind, replaced each time)::

    kind      recorded by                          body
    plan      plan, apply --dry-run, every apply   ``Plan.to_json()`` (what apply planned,
              (also rollback, waves, watch heal)   even when it failed part-way)
    rollout   rollout                              ``RolloutReport.to_json()``
    drift     drift, watch                         systems checked and counts per kind
                                                   (no field value)

A report never holds a secret: a plan's diffs show secret values as ``(sensitive)`` and
name references only (``converge.changes``), and the drift summary holds no value at
all. The body is JSON text, capped at ``MAX_BODY`` characters.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from converge.engine.journal_records import utc_now
from converge.errors import JournalError

if TYPE_CHECKING:
    from converge.engine.journal import Journal

ReportKind = Literal["plan", "rollout", "drift"]
REPORT_KINDS: tuple[str, ...] = ("plan", "rollout", "drift")
MAX_BODY = 1_000_000
_MAX_TEXT = 512
_COLUMNS = "project, kind, command, run_id, recorded_at, body"


@dataclass(frozen=True)
class StoredReport:
    """The newest report of one kind for one project."""

    project: str
    kind: str
    command: str
    run_id: str | None
    recorded_at: str
    body: Mapping[str, Any]


def _check(field: str, value: str | None, *, required: bool = True) -> None:
    if value is None or value == "":
        if required:
            raise JournalError(f"journal field {field} is empty")
        return
    if len(value) > _MAX_TEXT or "\n" in value:
        raise JournalError(f"journal field {field} is not a short single-line string")


class ReportLog:
    """The stored reports of one journal (``Journal.reports``)."""

    def __init__(self, journal: Journal):
        self.db = journal.db

    def record(
        self,
        project: str,
        kind: str,
        body: Mapping[str, Any],
        *,
        command: str,
        run_id: str | None = None,
    ) -> StoredReport:
        """Keep ``body`` as the project's newest report of ``kind`` (replacing the last)."""
        if kind not in REPORT_KINDS:
            raise JournalError(f"unknown report kind {kind!r}")
        _check("project", project)
        _check("command", command)
        _check("run_id", run_id, required=False)
        try:
            text = json.dumps(dict(body), sort_keys=True, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise JournalError(f"a {kind} report is not JSON ({exc})") from None
        if len(text) > MAX_BODY:
            raise JournalError(
                f"the {kind} report of {project} has {len(text)} characters, more than the "
                f"{MAX_BODY} the journal keeps"
            )
        now = utc_now()
        self.db.execute(
            f"INSERT INTO converge_reports ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (project, kind) DO UPDATE SET command = excluded.command, "
            "run_id = excluded.run_id, recorded_at = excluded.recorded_at, "
            "body = excluded.body",
            (project, kind, command, run_id, now, text),
        )
        return StoredReport(project, kind, command, run_id, now, json.loads(text))

    def last(self, project: str, kind: str) -> StoredReport | None:
        """The project's newest report of ``kind``, or None."""
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM converge_reports WHERE project = ? AND kind = ?",
            (project, kind),
        )
        if not rows:
            return None
        row = rows[0]
        return StoredReport(
            str(row[0]), str(row[1]), str(row[2]), row[3], str(row[4]), json.loads(row[5])
        )
