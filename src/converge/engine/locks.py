"""One run at a time per project: the project lock (exit 3 when held).

Why an OS lock and not a row: a lock must vanish with the process that holds it, or a
killed ``apply`` would block the project until someone deletes a file by hand. So:

* Always, ``<workspace>/.converge/locks/<project>.lock`` is locked with ``flock``; the
  kernel releases it when the holder dies. The file holds the holder as JSON (pid, host,
  command, actor, started, run id) so a refused run can name it. A clean release empties
  the file; a file still naming a holder when the lock is free was left by a dead process
  and is taken over and reported (``ProjectLock.recovered``). The file is never deleted:
  unlinking a flock'd path lets two processes lock two different inodes.
* With the PostgreSQL state, additionally a session-level advisory lock
  (``pg_try_advisory_lock``) on a dedicated connection, so machines sharing a team state
  exclude each other; PostgreSQL releases it when the session ends (process death or
  network loss). Its holder is kept in ``converge_lock_holders`` for the same messages.

Lock order is file first, then advisory; both are released in reverse order.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import psycopg

from converge.engine.journal import Journal, utc_now
from converge.engine.journal_sql import Row, advisory_key
from converge.errors import JournalError, LockHeldError

log = logging.getLogger(__name__)

_PROJECT = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_POLL_S = 0.05
_GRACE_S = 0.5


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or held) a project's lock. No secrets: names, ids and times only."""

    pid: int
    host: str
    command: str
    started: str
    actor: str | None = None
    run_id: str | None = None

    def describe(self) -> str:
        run = f", run {self.run_id}" if self.run_id else ""
        return f"{self.command} (pid {self.pid} on {self.host}, since {self.started}{run})"

    @classmethod
    def parse(cls, text: str) -> LockHolder | None:
        try:
            doc = json.loads(text)
            return cls(
                pid=int(doc["pid"]),
                host=str(doc["host"]),
                command=str(doc["command"]),
                started=str(doc["started"]),
                actor=doc.get("actor"),
                run_id=doc.get("run_id"),
            )
        except (ValueError, KeyError, TypeError):
            return None

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


@dataclass
class ProjectLock:
    """A held project lock. ``recovered`` names a dead holder whose lock was taken over."""

    project: str
    path: Path
    holder: LockHolder
    recovered: LockHolder | None
    _fd: int
    _pg: psycopg.Connection[Row] | None = None

    def set_run_id(self, run_id: str) -> None:
        """Name the run in the holder info once ``begin_run`` has given it an id."""
        self.holder = replace(self.holder, run_id=run_id)
        _write_holder(self._fd, self.holder)
        if self._pg is not None:
            _pg_save_holder(self._pg, self.project, self.holder)


def lock_path(state_dir: Path, project: str) -> Path:
    if not _PROJECT.match(project):
        raise JournalError(f"invalid project name {project!r} for a lock")
    return state_dir / "locks" / f"{project}.lock"


@contextlib.contextmanager
def acquire_lock(
    target: Path | Journal,
    project: str,
    *,
    command: str,
    actor: str | None = None,
    run_id: str | None = None,
    wait_s: float = 0.0,
) -> Iterator[ProjectLock]:
    """Hold the project's lock for the ``with`` block; raise ``LockHeldError`` (exit 3)
    naming the holder when another run has it after ``wait_s`` seconds.

    ``target`` is the workspace's ``.converge`` folder or an open Journal (whose
    PostgreSQL state adds the cross-machine advisory lock).
    """
    journal, state_dir = _split(target)
    path = lock_path(state_dir, project)
    holder = LockHolder(
        pid=os.getpid(),
        host=socket.gethostname(),
        command=command,
        started=utc_now(),
        actor=actor,
        run_id=run_id,
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise JournalError(f"cannot open the lock file {path} ({exc.strerror})") from None
    try:
        _flock(fd, project, wait_s)
        # Until the holder is written, a failure leaves the file as it was found.
        recovered = LockHolder.parse(_read_all(fd))
        pg = None
        if journal is not None and journal.backend == "postgresql":
            pg, pg_recovered = _pg_acquire(journal, project, holder, wait_s)
            recovered = recovered or pg_recovered
        try:
            _write_holder(fd, holder)
            lock = ProjectLock(project, path, holder, recovered, fd, pg)
            if recovered is not None:
                log.warning(
                    "recovered the lock of %s: %s left it when its process died",
                    project,
                    recovered.describe(),
                )
            yield lock
        finally:
            if pg is not None:
                _pg_release(pg, project)
            os.ftruncate(fd, 0)
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)  # explicit: a forked child may share the fd
        os.close(fd)


def read_lock_holder(target: Path | Journal, project: str) -> LockHolder | None:
    """The live holder of the project's lock, or None when it is free (for ``status``)."""
    journal, state_dir = _split(target)
    path = lock_path(state_dir, project)
    if path.exists():
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return _current_holder(fd) or _unknown_holder()
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
    if journal is not None and journal.backend == "postgresql":
        if not journal.advisory_lock_held(project):
            return None
        return _pg_holder(journal, project) or _unknown_holder()
    return None


def _split(target: Path | Journal) -> tuple[Journal | None, Path]:
    if isinstance(target, Journal):
        return target, target.state_dir
    return None, Path(target)


# -- file lock ------------------------------------------------------------------------------


def _flock(fd: int, project: str, wait_s: float) -> None:
    """Take the file lock. A lock held by nobody named in the file is a status reader's
    brief shared lock (or a holder mid-write): wait a little longer for it."""
    deadline = time.monotonic() + wait_s
    grace = True
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise JournalError(f"cannot lock project {project} ({exc.strerror})") from None
        if time.monotonic() >= deadline:
            holder = _current_holder(fd)
            if holder is None and grace:
                grace, deadline = False, time.monotonic() + _GRACE_S
                continue
            raise _held(project, holder)
        time.sleep(_POLL_S)


def _current_holder(fd: int) -> LockHolder | None:
    """The holder named in the file; retried briefly, as a new holder may be mid-write."""
    for _ in range(5):
        holder = LockHolder.parse(_read_all(fd))
        if holder is not None:
            return holder
        time.sleep(0.01)
    return None


def _read_all(fd: int) -> str:
    size = os.fstat(fd).st_size
    return os.pread(fd, size, 0).decode("utf-8", "replace") if size else ""


def _write_holder(fd: int, holder: LockHolder) -> None:
    data = (holder.to_json() + "\n").encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)
    os.fsync(fd)


def _unknown_holder() -> LockHolder:
    return LockHolder(pid=0, host="unknown host", command="another run", started="unknown")


def _held(project: str, holder: LockHolder | None) -> LockHeldError:
    who = (holder or _unknown_holder()).describe()
    return LockHeldError(
        f"{project} is locked by {who}",
        hint="wait for that run to finish; a lock whose process died is released by itself",
    )


# -- PostgreSQL advisory lock ---------------------------------------------------------------


def _pg_acquire(
    journal: Journal, project: str, holder: LockHolder, wait_s: float
) -> tuple[psycopg.Connection[Row], LockHolder | None]:
    conn = journal.db.new_pg_session()
    key = advisory_key(project)
    deadline = time.monotonic() + wait_s
    try:
        while not _pg_one(conn, "SELECT pg_try_advisory_lock(%s)", (key,)):
            if time.monotonic() >= deadline:
                raise _held(project, _pg_holder(journal, project))
            time.sleep(_POLL_S)
        rows = conn.execute(
            "SELECT holder FROM converge_lock_holders WHERE project = %s", (project,)
        ).fetchall()
        recovered = LockHolder.parse(str(rows[0][0])) if rows else None
        _pg_save_holder(conn, project, holder)
    except BaseException:
        conn.close()
        raise
    return conn, recovered


def _pg_one(conn: psycopg.Connection[Row], statement: str, params: tuple[Any, ...]) -> Any:
    try:
        row = conn.execute(statement, params).fetchone()
    except psycopg.Error as exc:
        raise JournalError(f"the project lock query failed ({type(exc).__name__})") from None
    return row[0] if row else None


def _pg_save_holder(conn: psycopg.Connection[Row], project: str, holder: LockHolder) -> None:
    try:
        conn.execute(
            "INSERT INTO converge_lock_holders (project, holder, acquired_at) "
            "VALUES (%s, %s, %s) ON CONFLICT (project) DO UPDATE SET "
            "holder = excluded.holder, acquired_at = excluded.acquired_at",
            (project, holder.to_json(), holder.started),
        )
    except psycopg.Error as exc:
        raise JournalError(f"cannot record the lock holder ({type(exc).__name__})") from None


def _pg_holder(journal: Journal, project: str) -> LockHolder | None:
    rows = journal.db.execute(
        "SELECT holder FROM converge_lock_holders WHERE project = ?", (project,)
    )
    return LockHolder.parse(str(rows[0][0])) if rows else None


def _pg_release(conn: psycopg.Connection[Row], project: str) -> None:
    with contextlib.suppress(psycopg.Error):
        conn.execute("DELETE FROM converge_lock_holders WHERE project = %s", (project,))
        conn.execute("SELECT pg_advisory_unlock(%s)", (advisory_key(project),))
    conn.close()
