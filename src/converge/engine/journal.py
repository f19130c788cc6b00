"""The run journal: what each run set out to do, what it did, and what converge owns.

Why: architecture §6 makes every write journaled before and after it runs, so a run killed
half-way can be shown by ``status`` and resumed by running ``apply`` again; deletes are
two-phase so ownership of an object is never dropped before its removal is confirmed; and
the change markers recorded at the last apply let observation read only the objects whose
marker moved. The storage (schema, migrations, SQLite/PostgreSQL) lives in
``journal_sql``; this module is the API the engine calls.

Operation states::

    create/update/adopt:  intent ──► done | failed
    delete:               intent ──► deleted ──► confirmed ──► forgotten
                            │           │     (gone on re-read)  (ownership dropped)
                            └───────────┴──► failed    (intent ──► confirmed when found gone)

A run whose row still says ``running`` while its process is dead (same host: the pid is
gone or was reused; PostgreSQL state: the project's advisory lock is free) is reported as
``interrupted``; the next ``begin_run`` of the project records it so. Its open operations
stay listed by ``unfinished_operations`` until a later run settles them: explicitly with
``resolve_operations``, or implicitly when a later run of the same systems succeeds (a
successful apply re-observed and converged everything those operations touched).

Nothing secret is ever stored: fingerprints must be keyed hashes (hex, optionally
``alg:``-prefixed) and every text field is length-checked.
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from converge.engine.journal_credentials import CredentialLog
from converge.engine.journal_records import (
    ACTIONS,
    OPEN_STATES,
    AuditLineRecord,
    ChangeLike,
    ChangeRef,
    ManagedObject,
    OperationRecord,
    OpState,
    ProjectStatus,
    RunRecord,
    RunResult,
    new_run_id,
    utc_now,
)
from converge.engine.journal_reports import ReportLog, StoredReport
from converge.engine.journal_sql import Database, Row, advisory_key, connect
from converge.errors import JournalError
from converge.util.processes import pid_alive, process_start_marker

__all__ = [
    "AuditLineRecord",
    "ChangeLike",
    "ChangeRef",
    "Journal",
    "ManagedObject",
    "OperationRecord",
    "ProjectStatus",
    "RunRecord",
    "StoredReport",
    "new_run_id",
    "open_journal",
    "utc_now",
]

_FINAL_RESULTS = ("succeeded", "failed", "interrupted")
_FINGERPRINT = re.compile(r"^(?:[a-z0-9-]{1,32}:)?[0-9a-f]{16,128}$")
_MAX_TEXT = 512

_RUN_COLUMNS = (
    "id, project, systems, command, actor, git_revision, decision_id, "
    "manifest_digest, started_at, finished_at, result, counts, host, pid, "
    "pid_started"
)
_OP_COLUMNS = (
    "id, run_id, seq, project, system, kind, name, action, key, state, vendor_id, "
    "marker, fingerprint, reason, created_at, updated_at, resolved_by"
)
_AUDIT_COLUMNS = "log, seq, sha, kind, run_id, state, recorded_at"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_MANAGED_COLUMNS = (
    "project, system, kind, name, vendor_id, marker, fingerprint, decision_id, run_id, updated_at"
)


# -- validation -----------------------------------------------------------------------------


def _text(field: str, value: str | None, *, required: bool = True) -> str | None:
    if value is None or value == "":
        if required:
            raise JournalError(f"journal field {field} is empty")
        return None
    if not isinstance(value, str) or len(value) > _MAX_TEXT or "\n" in value:
        raise JournalError(f"journal field {field} is not a short single-line string")
    return value


def _fingerprint(value: str | None) -> str | None:
    if value is not None and not _FINGERPRINT.match(value):
        raise JournalError(
            "journal refuses a fingerprint that is not a keyed hash (hex, optional 'alg:')",
            hint="store a keyed fingerprint of a secret, never the value",
        )
    return value


# -- the journal ----------------------------------------------------------------------------


class Journal:
    """The run journal of one workspace (SQLite file or shared PostgreSQL database).

    ``state_dir`` is the workspace's ``.converge`` folder, where lock files live whatever
    the backend. Thread-safe; several processes may open the same journal.
    """

    def __init__(self, db: Database, state_dir: Path) -> None:
        self.db = db
        self.state_dir = state_dir
        self.host = socket.gethostname()

    @property
    def backend(self) -> str:
        return self.db.dialect

    @property
    def credentials(self) -> CredentialLog:
        """Credentials converge minted or must revoke (``journal_credentials``)."""
        return CredentialLog(self)

    @property
    def reports(self) -> ReportLog:
        """Each project's newest plan, rollout and drift report (``journal_reports``)."""
        return ReportLog(self)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- runs ---------------------------------------------------------------------------

    def begin_run(
        self,
        project: str,
        *,
        systems: Sequence[str],
        command: str,
        actor: str,
        git_revision: str | None = None,
        decision_id: str | None = None,
        manifest_digest: str | None = None,
        holds_lock: bool = True,
        audit_log: str | None = None,
    ) -> RunRecord:
        """Record a new ``running`` run; call it while holding the project's lock.

        Earlier runs of the project still marked ``running`` whose process is dead are
        recorded as ``interrupted`` in the same transaction. Under the lock, a run of
        another host cannot be live; a live run of this host is kept (an apply that starts
        its automatic rollback while it holds the lock). ``holds_lock=False`` judges
        other hosts' runs as status does. ``audit_log`` is the key of the audit log that
        owes the run a line (``engine.audit_trail``): recorded with the run, so a run
        killed before it could log is still logged, by the next append.
        """
        for name, value in (("project", project), ("command", command), ("actor", actor)):
            _text(name, value)
        for name, optional in (
            ("git_revision", git_revision),
            ("decision_id", decision_id),
            ("manifest_digest", manifest_digest),
            ("audit_log", audit_log),
        ):
            _text(name, optional, required=False)
        run_id, now, pid = new_run_id(), utc_now(), os.getpid()
        with self.db.transaction():
            self._mark_interrupted(project, now, all_dead=holds_lock)
            self.db.execute(
                f"INSERT INTO converge_runs ({_RUN_COLUMNS}, audit_log) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 'running', '{}', ?, ?, ?, ?)",
                (
                    run_id,
                    project,
                    json.dumps(sorted(systems)),
                    command,
                    actor,
                    git_revision,
                    decision_id,
                    manifest_digest,
                    now,
                    self.host,
                    pid,
                    process_start_marker(pid),
                    audit_log,
                ),
            )
        run = self.get_run(run_id)
        assert run is not None
        return run

    def finish_run(
        self, run: RunRecord | str, result: RunResult, counts: Mapping[str, int] | None = None
    ) -> RunRecord:
        """Close a running run. A success settles the open operations that earlier runs
        of the same project and systems left behind."""
        run_id = run if isinstance(run, str) else run.id
        if result not in _FINAL_RESULTS:
            raise JournalError(f"a run cannot finish as {result!r}")
        counts_json = json.dumps(
            {str(k): int(v) for k, v in (counts or {}).items()}, sort_keys=True
        )
        with self.db.transaction():
            rows = self.db.execute(
                "UPDATE converge_runs SET result = ?, finished_at = ?, counts = ? "
                "WHERE id = ? AND result = 'running' RETURNING project, systems",
                (result, utc_now(), counts_json, run_id),
            )
            if not rows:
                raise JournalError(f"run {run_id} is not running; it cannot finish again")
            if result == "succeeded":
                project, systems = str(rows[0][0]), json.loads(rows[0][1])
                self._resolve_earlier(project, list(systems), run_id)
        finished = self.get_run(run_id)
        assert finished is not None
        return finished

    def get_run(self, run_id: str) -> RunRecord | None:
        rows = self.db.execute(f"SELECT {_RUN_COLUMNS} FROM converge_runs WHERE id = ?", (run_id,))
        return self._run(rows[0]) if rows else None

    def last_runs(self, project: str, limit: int = 10) -> list[RunRecord]:
        """The project's most recent runs, newest first."""
        rows = self.db.execute(
            f"SELECT {_RUN_COLUMNS} FROM converge_runs WHERE project = ? ORDER BY id DESC LIMIT ?",
            (project, int(limit)),
        )
        return [self._run(row) for row in rows]

    def last_successful_run(self, project: str, command: str | None = None) -> RunRecord | None:
        """The newest succeeded run (optionally of one command): what rollback restores."""
        where, params = "project = ? AND result = 'succeeded'", [project]
        if command is not None:
            where, params = where + " AND command = ?", [project, command]
        rows = self.db.execute(
            f"SELECT {_RUN_COLUMNS} FROM converge_runs WHERE {where} ORDER BY id DESC LIMIT 1",
            params,
        )
        return self._run(rows[0]) if rows else None

    def record_git_revision(self, run: RunRecord | str, git_revision: str) -> RunRecord:
        """Record the git revision that holds what a succeeded run applied, once it
        exists: ``apply --commit`` commits the artifacts after the run. The same revision
        again changes nothing; another one is refused (a run applied one revision)."""
        run_id = run if isinstance(run, str) else run.id
        _text("git_revision", git_revision)
        with self.db.transaction():
            rows = self.db.execute(
                "SELECT result, git_revision FROM converge_runs WHERE id = ?", (run_id,)
            )
            if not rows:
                raise JournalError(f"there is no run {run_id} in the journal")
            result, recorded = rows[0][0], rows[0][1]
            if result != "succeeded":
                raise JournalError(
                    f"run {run_id} has not succeeded ({result}); only a succeeded run "
                    "records the revision it applied"
                )
            if recorded not in (None, git_revision):
                raise JournalError(
                    f"run {run_id} already records git revision {str(recorded)[:12]}"
                )
            self.db.execute(
                "UPDATE converge_runs SET git_revision = ? WHERE id = ?", (git_revision, run_id)
            )
        updated = self.get_run(run_id)
        assert updated is not None
        return updated

    def project_status(self, project: str, limit: int = 10) -> ProjectStatus:
        return ProjectStatus(
            project, self.last_runs(project, limit), self.unfinished_operations(project)
        )

    # -- operations ---------------------------------------------------------------------

    def record_intent(self, run: RunRecord | str, change: ChangeLike) -> int:
        """Record, before calling the vendor, that ``change`` is about to be made."""
        run_id = run if isinstance(run, str) else run.id
        _text("system", change.system)
        _text("kind", change.kind)
        _text("name", change.name)
        _text("key", change.key)
        if change.action not in ACTIONS:
            raise JournalError(f"unknown change action {change.action!r}")
        now = utc_now()
        with self.db.transaction():
            rows = self.db.execute(
                "INSERT INTO converge_operations (run_id, seq, project, system, kind, name, "
                "action, key, state, created_at, updated_at) "
                "SELECT r.id, (SELECT COALESCE(MAX(o.seq), 0) + 1 FROM converge_operations o "
                "WHERE o.run_id = r.id), r.project, ?, ?, ?, ?, ?, 'intent', ?, ? "
                "FROM converge_runs r WHERE r.id = ? AND r.result = 'running' RETURNING id",
                (
                    change.system,
                    change.kind,
                    change.name,
                    change.action,
                    change.key,
                    now,
                    now,
                    run_id,
                ),
            )
        if not rows:
            raise JournalError(f"run {run_id} is not running; cannot record an operation")
        return int(rows[0][0])

    def record_done(
        self,
        op_id: int,
        *,
        vendor_id: str | None = None,
        marker: str | None = None,
        fingerprint: str | None = None,
    ) -> None:
        """The vendor accepted a create/update/adopt; converge now owns the object and
        remembers its id, change marker and fingerprint (same transaction)."""
        _text("vendor_id", vendor_id, required=False)
        _text("marker", marker, required=False)
        _fingerprint(fingerprint)
        with self.db.transaction():
            op = self._transition(
                op_id,
                "done",
                ("intent",),
                ("create", "update", "adopt"),
                vendor_id=vendor_id,
                marker=marker,
                fingerprint=fingerprint,
            )
            rows = self.db.execute(
                "SELECT decision_id FROM converge_runs WHERE id = ?", (op.run_id,)
            )
            self.upsert_managed(
                op.project,
                op.system,
                op.kind,
                op.name,
                vendor_id=vendor_id,
                marker=marker,
                fingerprint=fingerprint,
                decision_id=rows[0][0] if rows else None,
                run_id=op.run_id,
            )

    def record_failed(self, op_id: int, reason: str) -> None:
        """The vendor refused or the call broke; ``reason`` must hold no secret."""
        reason = reason.strip().splitlines()[0][:_MAX_TEXT] if reason.strip() else "failed"
        self._transition(op_id, "failed", ("intent", "deleted"), tuple(ACTIONS), reason=reason)

    def record_deleted(self, op_id: int) -> None:
        """Delete phase 1 done: the vendor accepted the delete (not yet confirmed)."""
        self._transition(op_id, "deleted", ("intent",), ("delete",))

    def record_confirmed(self, op_id: int) -> None:
        """Delete phase 2: a re-read shows the object is gone."""
        self._transition(op_id, "confirmed", ("intent", "deleted"), ("delete",))

    def record_forgotten(self, op_id: int) -> None:
        """Last step of a confirmed delete: drop ownership, atomically with the state."""
        with self.db.transaction():
            op = self._transition(op_id, "forgotten", ("confirmed",), ("delete",))
            self.db.execute(
                "DELETE FROM converge_managed_objects WHERE project = ? AND system = ? "
                "AND kind = ? AND name = ?",
                (op.project, op.system, op.kind, op.name),
            )

    def operations(self, run: RunRecord | str) -> list[OperationRecord]:
        run_id = run if isinstance(run, str) else run.id
        rows = self.db.execute(
            f"SELECT {_OP_COLUMNS} FROM converge_operations WHERE run_id = ? ORDER BY seq",
            (run_id,),
        )
        return [_operation(row) for row in rows]

    def unfinished_operations(self, project: str) -> list[OperationRecord]:
        """Operations a dead or failed run left open (not those of a live run), oldest
        first: where the run stopped, what ``apply`` must re-observe when resuming."""
        marks = ", ".join("?" for _ in OPEN_STATES)
        rows = self.db.execute(
            f"SELECT {', '.join('o.' + c for c in _OP_COLUMNS.split(', '))}, r.result, "
            "r.host, r.pid, r.pid_started FROM converge_operations o "
            "JOIN converge_runs r ON r.id = o.run_id "
            f"WHERE o.project = ? AND o.state IN ({marks}) AND o.resolved_by IS NULL "
            "ORDER BY o.run_id, o.seq",
            (project, *OPEN_STATES),
        )
        width = len(_OP_COLUMNS.split(", "))
        return [
            _operation(row[:width])
            for row in rows
            if row[width] != "running" or not self._alive(project, *row[width + 1 :])
        ]

    def resolve_operations(self, op_ids: Iterable[int], run: RunRecord | str) -> None:
        """Mark open operations of an earlier run as settled by ``run`` (after resuming)."""
        run_id = run if isinstance(run, str) else run.id
        with self.db.transaction():
            for op_id in op_ids:
                self.db.execute(
                    "UPDATE converge_operations SET resolved_by = ? WHERE id = ? "
                    "AND resolved_by IS NULL",
                    (run_id, int(op_id)),
                )

    # -- ownership ----------------------------------------------------------------------

    def managed_objects(self, project: str, system: str | None = None) -> list[ManagedObject]:
        where, params = "project = ?", [project]
        if system is not None:
            where, params = where + " AND system = ?", [project, system]
        rows = self.db.execute(
            f"SELECT {_MANAGED_COLUMNS} FROM converge_managed_objects WHERE {where} "
            "ORDER BY system, kind, name",
            params,
        )
        return [ManagedObject(*row) for row in rows]

    def upsert_managed(
        self,
        project: str,
        system: str,
        kind: str,
        name: str,
        *,
        vendor_id: str | None,
        marker: str | None,
        fingerprint: str | None = None,
        decision_id: str | None = None,
        run_id: str | None = None,
    ) -> None:
        """Record that converge owns an object and what it last applied to it."""
        for field, value in (
            ("project", project),
            ("system", system),
            ("kind", kind),
            ("name", name),
        ):
            _text(field, value)
        _text("vendor_id", vendor_id, required=False)
        _text("marker", marker, required=False)
        _fingerprint(fingerprint)
        self.db.execute(
            f"INSERT INTO converge_managed_objects ({_MANAGED_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (project, system, kind, name) DO UPDATE SET "
            "vendor_id = excluded.vendor_id, marker = excluded.marker, "
            "fingerprint = excluded.fingerprint, decision_id = excluded.decision_id, "
            "run_id = excluded.run_id, updated_at = excluded.updated_at",
            (
                project,
                system,
                kind,
                name,
                vendor_id,
                marker,
                fingerprint,
                decision_id,
                run_id,
                utc_now(),
            ),
        )

    def forget_managed(self, project: str, system: str, kind: str, name: str) -> None:
        """Drop ownership without a delete (e.g. the user released the object). Refused
        while a delete of it is recorded but not confirmed (architecture §6)."""
        with self.db.transaction():
            pending = self.db.execute(
                "SELECT id FROM converge_operations WHERE project = ? AND system = ? "
                "AND kind = ? AND name = ? AND action = 'delete' "
                "AND state IN ('intent', 'deleted') AND resolved_by IS NULL",
                (project, system, kind, name),
            )
            if pending:
                raise JournalError(
                    f"{system} {kind} {name!r} has an unconfirmed delete (operation "
                    f"{pending[0][0]}); converge keeps owning it until the delete is confirmed"
                )
            self.db.execute(
                "DELETE FROM converge_managed_objects WHERE project = ? AND system = ? "
                "AND kind = ? AND name = ?",
                (project, system, kind, name),
            )

    # -- the audit log's anchor (engine.audit_trail) ---------------------------------------

    def audit_lines(self, log: str) -> list[AuditLineRecord]:
        """Every line recorded for the audit log ``log``, by position (the last: its head)."""
        rows = self.db.execute(
            f"SELECT {_AUDIT_COLUMNS} FROM converge_audit_lines WHERE log = ? ORDER BY seq",
            (log,),
        )
        return [AuditLineRecord(*row) for row in rows]

    def audit_tail(self, log: str) -> list[AuditLineRecord]:
        """The log's head and any intent after it (what an append checks the file's tail
        against), without reading every line's record."""
        rows = self.db.execute(
            f"SELECT {_AUDIT_COLUMNS} FROM converge_audit_lines WHERE log = ? AND "
            "(state = 'intent' OR seq = (SELECT MAX(seq) FROM converge_audit_lines "
            "WHERE log = ? AND state = 'written')) ORDER BY seq",
            (log, log),
        )
        return [AuditLineRecord(*row) for row in rows]

    def audit_logged(self, log: str, run_id: str) -> bool:
        """Has the run's line been recorded (intended or written) in ``log``?"""
        rows = self.db.execute(
            "SELECT 1 FROM converge_audit_lines WHERE log = ? AND run_id = ?", (log, run_id)
        )
        return bool(rows)

    def audit_intend(
        self, log: str, *, seq: int, sha: str, kind: str, run_id: str | None
    ) -> None:
        """Record, before the line is written, the line about to become the log's head."""
        _text("log", log)
        _text("kind", kind)
        _text("run_id", run_id, required=False)
        if not _SHA256.match(sha):
            raise JournalError("an audit line's hash must be a sha256 in hex")
        self.db.execute(
            f"INSERT INTO converge_audit_lines ({_AUDIT_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, 'intent', ?)",
            (log, int(seq), sha, kind, run_id, utc_now()),
        )

    def audit_written(self, log: str, seq: int) -> None:
        """The intended line is in the file (fsync'd): it is now the head."""
        self.db.execute(
            "UPDATE converge_audit_lines SET state = 'written' WHERE log = ? AND seq = ? "
            "AND state = 'intent'",
            (log, int(seq)),
        )

    def audit_drop_intent(self, log: str, seq: int) -> None:
        """The intended line never reached the file (the writer died first)."""
        self.db.execute(
            "DELETE FROM converge_audit_lines WHERE log = ? AND seq = ? AND state = 'intent'",
            (log, int(seq)),
        )

    def audit_adopt(self, log: str, lines: Sequence[tuple[int, str, str, str | None]]) -> None:
        """Record lines written before the journal kept them ((seq, sha, kind, run id))."""
        with self.db.transaction():
            for seq, sha, kind, run_id in lines:
                self.audit_intend(log, seq=seq, sha=sha, kind=kind, run_id=run_id)
                self.audit_written(log, seq)

    def audit_runs(self, log: str) -> list[RunRecord]:
        """Every run that owes ``log`` a line, oldest first (a dead ``running`` one is
        reported as ``interrupted``, as everywhere)."""
        rows = self.db.execute(
            f"SELECT {_RUN_COLUMNS} FROM converge_runs WHERE audit_log = ? ORDER BY id", (log,)
        )
        return [self._run(row) for row in rows]

    def runs_owing_audit(self, log: str) -> list[RunRecord]:
        """The finished runs that owe ``log`` a line and have none recorded, oldest first.
        A run still marked ``running`` whose process is dead is recorded as
        ``interrupted`` first: a run killed by SIGKILL could not log itself."""
        running = self.db.execute(
            "SELECT id, project, host, pid, pid_started FROM converge_runs "
            "WHERE audit_log = ? AND result = 'running'",
            (log,),
        )
        # Judged outside a transaction: on PostgreSQL the check takes the project's
        # advisory lock for a moment, which a long transaction would keep.
        dead = [row[0] for row in running if not self._alive(*row[1:])]
        now = utc_now()
        with self.db.transaction():
            for run_id in dead:
                self.db.execute(
                    "UPDATE converge_runs SET result = 'interrupted', finished_at = ? "
                    "WHERE id = ? AND result = 'running'",
                    (now, run_id),
                )
            rows = self.db.execute(
                f"SELECT {_RUN_COLUMNS} FROM converge_runs r WHERE r.audit_log = ? "
                "AND r.result <> 'running' AND NOT EXISTS (SELECT 1 FROM "
                "converge_audit_lines a WHERE a.log = r.audit_log AND a.run_id = r.id) "
                "ORDER BY r.id",
                (log,),
            )
        return [self._run(row) for row in rows]

    # -- internals ----------------------------------------------------------------------

    def _run(self, row: Row) -> RunRecord:
        values = list(row)
        result = values[10]
        if result == "running" and not self._alive(values[1], values[12], values[13], values[14]):
            result = "interrupted"
        return RunRecord(
            id=values[0],
            project=values[1],
            systems=tuple(json.loads(values[2])),
            command=values[3],
            actor=values[4],
            git_revision=values[5],
            decision_id=values[6],
            manifest_digest=values[7],
            started_at=values[8],
            finished_at=values[9],
            result=result,
            counts=json.loads(values[11]),
            host=values[12],
            pid=int(values[13]),
        )

    def _alive(self, project: str, host: str, pid: int, pid_started: str | None) -> bool:
        """Is the process that recorded a ``running`` run still running it?"""
        if host == self.host:
            return pid_alive(int(pid), pid_started)
        if self.db.dialect == "postgresql":
            return self.advisory_lock_held(project)
        return True  # another host writing a local SQLite file: cannot tell, assume alive

    def advisory_lock_held(self, project: str) -> bool:
        """Does some session hold the project's PostgreSQL advisory lock (see locks)?"""
        key = advisory_key(project)
        with self.db.transaction():
            got = self.db.execute("SELECT pg_try_advisory_xact_lock(?)", (key,))
        return not bool(got[0][0])

    def _mark_interrupted(self, project: str, now: str, *, all_dead: bool) -> None:
        rows = self.db.execute(
            "SELECT id, host, pid, pid_started FROM converge_runs WHERE project = ? "
            "AND result = 'running'",
            (project,),
        )
        for run_id, host, pid, started in rows:
            if all_dead and host != self.host:
                dead = True
            else:
                dead = not self._alive(project, host, pid, started)
            if dead:
                self.db.execute(
                    "UPDATE converge_runs SET result = 'interrupted', finished_at = ? "
                    "WHERE id = ? AND result = 'running'",
                    (now, run_id),
                )

    def _resolve_earlier(self, project: str, systems: list[str], run_id: str) -> None:
        if not systems:
            return
        marks = ", ".join("?" for _ in systems)
        states = ", ".join("?" for _ in OPEN_STATES)
        self.db.execute(
            f"UPDATE converge_operations SET resolved_by = ? WHERE project = ? "
            f"AND run_id <> ? AND run_id < ? AND resolved_by IS NULL "
            f"AND state IN ({states}) AND system IN ({marks})",
            (run_id, project, run_id, run_id, *OPEN_STATES, *systems),
        )

    def _transition(
        self,
        op_id: int,
        state: OpState,
        sources: tuple[str, ...],
        actions: tuple[str, ...],
        **fields: Any,
    ) -> OperationRecord:
        names = list(fields)
        sets = "".join(f", {name} = ?" for name in names)
        source_marks = ", ".join("?" for _ in sources)
        action_marks = ", ".join("?" for _ in actions)
        with self.db.transaction():
            rows = self.db.execute(
                f"UPDATE converge_operations SET state = ?, updated_at = ?{sets} "
                f"WHERE id = ? AND state IN ({source_marks}) AND action IN ({action_marks}) "
                f"RETURNING {_OP_COLUMNS}",
                (state, utc_now(), *(fields[n] for n in names), int(op_id), *sources, *actions),
            )
            if rows:
                return _operation(rows[0])
            current = self.db.execute(
                "SELECT action, state FROM converge_operations WHERE id = ?", (int(op_id),)
            )
        if not current:
            raise JournalError(f"no journal operation {op_id}")
        action, was = current[0]
        raise JournalError(
            f"journal operation {op_id} ({action}) is {was}; it cannot become {state}"
        )


def _operation(row: Row) -> OperationRecord:
    return OperationRecord(*row)


def open_journal(state: str, workspace_root: Path) -> Journal:
    """Open the journal a ``converge.yaml`` ``state`` setting names: a path (relative to
    the workspace; SQLite) or a ``postgresql://`` URL (shared team state)."""
    root = Path(workspace_root)
    return Journal(connect(state, root), root / ".converge")
