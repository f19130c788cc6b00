"""When each drift was first seen: a small table beside the run journal.

Why in the journal's database: a team sharing a PostgreSQL state shares drift ages too,
and the metrics exporter reads them from the same place as runs. The table belongs to
ops (not to the journal's migrations), so it is created on first use with
``CREATE TABLE IF NOT EXISTS``::

    converge_drift_seen(project, system, object_key, field, kind, first_seen, last_seen)
    primary key (project, object_key, field)

``object_key`` is the change key (``vercel/env/NEXT_PUBLIC_APP_NAME@production``),
``field`` the field that differs ("" for an object-level drift), timestamps UTC
ISO-8601 text as the journal writes them. ``record_drift`` is called by every
``detect_drift(record=True)``: it keeps ``first_seen`` of a drift still present,
inserts new ones and deletes those of the checked systems that are gone (healed), so an
age restarts when a drift comes back after being healed.

For the metrics exporter: ``drift_ages(journal, project=None)`` lists every open drift
with its age in seconds; ``drift_first_seen(journal, project, object_key, field)`` gives
one timestamp.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from converge.engine.journal import Journal, utc_now

TABLE = "converge_drift_seen"
_CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    "project TEXT NOT NULL, system TEXT NOT NULL, object_key TEXT NOT NULL, "
    "field TEXT NOT NULL, kind TEXT NOT NULL, first_seen TEXT NOT NULL, "
    "last_seen TEXT NOT NULL, PRIMARY KEY (project, object_key, field))"
)


@dataclass(frozen=True)
class SeenDrift:
    """One drift to record: which object, which field ("" for the whole object)."""

    system: str
    object_key: str
    field: str
    kind: str


@dataclass(frozen=True)
class DriftAge:
    """One open drift and how long it has been seen (for metrics)."""

    project: str
    system: str
    object_key: str
    field: str
    kind: str
    first_seen: str
    last_seen: str
    age_seconds: float


def ensure_table(journal: Journal) -> None:
    journal.db.execute(_CREATE)


def parse_time(stamp: str) -> dt.datetime:
    """The journal's ``…Z`` timestamps as aware datetimes."""
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def record_drift(
    journal: Journal,
    project: str,
    *,
    systems: Sequence[str],
    seen: Iterable[SeenDrift],
    now: str | None = None,
) -> dict[tuple[str, str], str]:
    """Record what one drift check of ``systems`` saw; return ``(object_key, field) ->
    first_seen`` for everything seen. Rows of other systems are left alone."""
    ensure_table(journal)
    stamp = now or utc_now()
    found = {(s.object_key, s.field): s for s in seen}
    first: dict[tuple[str, str], str] = {}
    db = journal.db
    with db.transaction():
        marks = ", ".join("?" for _ in systems) or "''"
        rows = db.execute(
            f"SELECT object_key, field, first_seen FROM {TABLE} "
            f"WHERE project = ? AND system IN ({marks})",
            (project, *systems),
        )
        known = {(str(r[0]), str(r[1])): str(r[2]) for r in rows}
        for key in known.keys() - found.keys():
            db.execute(
                f"DELETE FROM {TABLE} WHERE project = ? AND object_key = ? AND field = ?",
                (project, *key),
            )
        for key, item in found.items():
            if key in known:
                db.execute(
                    f"UPDATE {TABLE} SET last_seen = ?, kind = ? "
                    "WHERE project = ? AND object_key = ? AND field = ?",
                    (stamp, item.kind, project, *key),
                )
                first[key] = known[key]
            else:
                db.execute(
                    f"INSERT INTO {TABLE} (project, system, object_key, field, kind, "
                    "first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (project, item.system, item.object_key, item.field, item.kind, stamp, stamp),
                )
                first[key] = stamp
    return first


def drift_first_seen(
    journal: Journal, project: str, object_key: str, field: str = ""
) -> str | None:
    """When the drift of ``object_key``/``field`` was first seen (still open), or None."""
    ensure_table(journal)
    rows = journal.db.execute(
        f"SELECT first_seen FROM {TABLE} WHERE project = ? AND object_key = ? AND field = ?",
        (project, object_key, field),
    )
    return str(rows[0][0]) if rows else None


def drift_ages(
    journal: Journal, project: str | None = None, *, now: dt.datetime | None = None
) -> list[DriftAge]:
    """Every open drift (of one project, or all) with its age in seconds at ``now``."""
    ensure_table(journal)
    where, params = ("WHERE project = ?", (project,)) if project else ("", ())
    rows = journal.db.execute(
        f"SELECT project, system, object_key, field, kind, first_seen, last_seen FROM {TABLE} "
        f"{where} ORDER BY project, object_key, field",
        params,
    )
    moment = now or dt.datetime.now(dt.UTC)
    return [
        DriftAge(
            project=str(r[0]), system=str(r[1]), object_key=str(r[2]), field=str(r[3]),
            kind=str(r[4]), first_seen=str(r[5]), last_seen=str(r[6]),
            age_seconds=max((moment - parse_time(str(r[5]))).total_seconds(), 0.0),
        )
        for r in rows
    ]
