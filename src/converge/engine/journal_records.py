"""The journal's records and the facts it keeps about processes: plain data, no I/O
beyond ``/proc``.

Kept apart from ``journal`` so the engine, ``status`` and the audit log can share the
record types without the storage code. ``new_run_id`` gives time-ordered ids (a run list
sorts by id = by start); ``pid_alive`` tells a killed run from a live one on this host,
including a pid the kernel has since given to another process.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from converge.changes import change_key

RunResult = Literal["running", "succeeded", "failed", "interrupted"]
Action = Literal["create", "update", "delete", "adopt"]
OpState = Literal["intent", "done", "failed", "deleted", "confirmed", "forgotten"]

ACTIONS: frozenset[str] = frozenset({"create", "update", "delete", "adopt"})
OPEN_STATES: tuple[str, ...] = ("intent", "deleted", "confirmed")


class ChangeLike(Protocol):
    """What the journal needs of a planned change (the engine's Change satisfies it)."""

    @property
    def system(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def key(self) -> str: ...


@dataclass(frozen=True)
class ChangeRef:
    """A minimal ``ChangeLike``: callers without a Change object build one of these."""

    system: str
    kind: str
    name: str
    action: str
    key: str


@dataclass(frozen=True)
class RunRecord:
    id: str
    project: str
    systems: tuple[str, ...]
    command: str
    actor: str
    git_revision: str | None
    decision_id: str | None
    manifest_digest: str | None
    started_at: str
    finished_at: str | None
    result: RunResult
    counts: Mapping[str, int]
    host: str
    pid: int

    @property
    def resumable(self) -> bool:
        """An interrupted or failed run is resumed by running ``apply`` again."""
        return self.result in ("interrupted", "failed")


@dataclass(frozen=True)
class OperationRecord:
    id: int
    run_id: str
    seq: int
    project: str
    system: str
    kind: str
    name: str
    action: str
    key: str
    state: OpState
    vendor_id: str | None
    marker: str | None
    fingerprint: str | None
    reason: str | None
    created_at: str
    updated_at: str
    resolved_by: str | None


@dataclass(frozen=True)
class ManagedObject:
    project: str
    system: str
    kind: str
    name: str
    vendor_id: str | None
    marker: str | None
    fingerprint: str | None
    decision_id: str | None
    run_id: str | None
    updated_at: str

    @property
    def key(self) -> str:
        """The change key of this object (``Change.key`` of the change that wrote it)."""
        return change_key(self.system, self.kind, self.name)


@dataclass(frozen=True)
class AuditLineRecord:
    """What the journal knows of one audit log line: its position and sha256, never its
    text. ``state`` is ``intent`` from just before the line is written to the file until
    the write is confirmed (``written``)."""

    log: str
    seq: int
    sha: str
    kind: str
    run_id: str | None
    state: Literal["intent", "written"]
    recorded_at: str


@dataclass(frozen=True)
class ProjectStatus:
    """What ``converge status`` shows: recent runs, where a run stopped, how to resume."""

    project: str
    runs: list[RunRecord]
    unfinished: list[OperationRecord]

    @property
    def needs_resume(self) -> bool:
        return bool(self.unfinished) or any(r.result == "interrupted" for r in self.runs[:1])


# -- ids, time, processes -------------------------------------------------------------------

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_id_lock = threading.Lock()
_last_id: tuple[int, int] = (0, 0)


def new_run_id() -> str:
    """A 26-character ULID-like id: 48-bit milliseconds + 80 random bits, Crockford
    base32, so ids sort by start time; monotonic within a process."""
    global _last_id
    with _id_lock:
        millis = time.time_ns() // 1_000_000
        last_ms, last_rand = _last_id
        rand = last_rand + 1 if millis <= last_ms else secrets.randbits(80)
        millis = max(millis, last_ms)
        _last_id = (millis, rand)
    value = (millis << 80) | (rand & ((1 << 80) - 1))
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def utc_now() -> str:
    """UTC ISO-8601 with microseconds and ``Z``: sorts as text on both backends."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


