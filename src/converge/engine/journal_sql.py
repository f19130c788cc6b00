"""The journal's storage: one schema, two SQL dialects (SQLite and PostgreSQL).

Why a layer of its own: the journal's queries are written once, in the common subset of
SQLite and PostgreSQL (``ON CONFLICT … DO UPDATE``, ``RETURNING``, TEXT timestamps), with
``?`` placeholders; this module rewrites the few dialect differences (placeholder style,
identity column), owns the connections, the schema version table and forward migrations,
and translates driver errors into ``JournalError`` at one boundary. A PostgreSQL URL holds
a password, so error messages name only its host and database.

Schema (version 4; every table is prefixed ``converge_`` so a shared team database can
hold other things too)::

    converge_schema_version(version)                 one row: the applied schema version
    converge_runs(id PK, project, systems JSON, command, actor, git_revision, decision_id,
                  manifest_digest, started_at, finished_at, result, counts JSON,
                  host, pid, pid_started, audit_log)
        id: time-ordered (sorts by start time); result: running|succeeded|failed|interrupted;
        host/pid/pid_started: the process that ran it, to tell a killed run from a live one;
        audit_log: the key of the audit log its line goes to (v2; NULL: not logged).
    converge_operations(id PK, run_id → runs, seq, project, system, kind, name, action, key,
                        state, vendor_id, marker, fingerprint, reason, created_at,
                        updated_at, resolved_by)
        state: intent → done | failed; deletes: intent → deleted → confirmed → forgotten.
        resolved_by: the later run that settled an operation a killed run left open.
    converge_managed_objects(project, system, kind, name PK, vendor_id, marker,
                             fingerprint, decision_id, run_id, updated_at)
        what converge owns and what it last applied (its vendor change marker).
    converge_lock_holders(project PK, holder JSON, acquired_at)
        who holds a project's PostgreSQL advisory lock (the PostgreSQL state only).
    converge_audit_lines(log, seq PK, sha, kind, run_id, state, recorded_at)      (v2)
        the sha256 of every line converge wrote to an audit log (``engine.audit_trail``):
        state intent (recorded before the write) -> written; the newest is the log's head.
    converge_credentials(id PK, project, system, kind, parent_id, parent_name,
                         credential_id, nonce, state, due_at, reason, run_id → runs,
                         created_at, updated_at, settled_by)           (version 3)
        credentials converge minted or must revoke (``journal_credentials``): state
        minting → issued → revoke_pending → revoked, or minting → void; ids and mint
        nonces only, never a value.
    converge_reports(project, kind PK, command, run_id, recorded_at, body JSON)  (version 4)
        each project's newest report of a kind (plan, rollout, drift) for the dashboard
        (``journal_reports``): replaced each time, never a secret value.

Timestamps are UTC ISO-8601 text on both backends, so rows read back identically.
No column ever holds a secret value: names, ids, change markers and keyed fingerprints.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import sqlite3
import threading
import urllib.parse
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import psycopg

from converge.errors import JournalError

Dialect = Literal["sqlite", "postgresql"]
Row = tuple[Any, ...]
Params = Sequence[Any]

SCHEMA_VERSION = 4
BUSY_TIMEOUT_S = 30.0

# Each entry upgrades the schema from version N-1 to N; never edit a released entry,
# append a new one. ``{id_pk}`` is the dialect's auto-numbered primary key.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE converge_runs (
            id TEXT PRIMARY KEY,
            project TEXT NOT NULL,
            systems TEXT NOT NULL,
            command TEXT NOT NULL,
            actor TEXT NOT NULL,
            git_revision TEXT,
            decision_id TEXT,
            manifest_digest TEXT,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            result TEXT NOT NULL,
            counts TEXT NOT NULL,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            pid_started TEXT
        )""",
        "CREATE INDEX converge_runs_project ON converge_runs (project, id)",
        """CREATE TABLE converge_operations (
            id {id_pk},
            run_id TEXT NOT NULL REFERENCES converge_runs (id),
            seq INTEGER NOT NULL,
            project TEXT NOT NULL,
            system TEXT NOT NULL,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            action TEXT NOT NULL,
            key TEXT NOT NULL,
            state TEXT NOT NULL,
            vendor_id TEXT,
            marker TEXT,
            fingerprint TEXT,
            reason TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            resolved_by TEXT,
            UNIQUE (run_id, seq)
        )""",
        "CREATE INDEX converge_operations_open ON converge_operations (project, state)",
        """CREATE TABLE converge_managed_objects (
            project TEXT NOT NULL,
            system TEXT NOT NULL,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            vendor_id TEXT,
            marker TEXT,
            fingerprint TEXT,
            decision_id TEXT,
            run_id TEXT,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (project, system, kind, name)
        )""",
        """CREATE TABLE converge_lock_holders (
            project TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            acquired_at TEXT NOT NULL
        )""",
    ),
    (
        "ALTER TABLE converge_runs ADD COLUMN audit_log TEXT",
        "CREATE INDEX converge_runs_audit_log ON converge_runs (audit_log, result)",
        """CREATE TABLE converge_audit_lines (
            log TEXT NOT NULL,
            seq INTEGER NOT NULL,
            sha TEXT NOT NULL,
            kind TEXT NOT NULL,
            run_id TEXT,
            state TEXT NOT NULL,
            recorded_at TEXT NOT NULL,
            PRIMARY KEY (log, seq)
        )""",
        "CREATE INDEX converge_audit_lines_run ON converge_audit_lines (log, run_id)",
    ),
    (
        """CREATE TABLE converge_credentials (
            id {id_pk},
            project TEXT NOT NULL,
            system TEXT NOT NULL,
            kind TEXT NOT NULL,
            parent_id TEXT NOT NULL,
            parent_name TEXT NOT NULL,
            credential_id TEXT,
            nonce TEXT,
            state TEXT NOT NULL,
            due_at TEXT,
            reason TEXT,
            run_id TEXT NOT NULL REFERENCES converge_runs (id),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            settled_by TEXT
        )""",
        "CREATE INDEX converge_credentials_open ON converge_credentials (project, state)",
    ),
    (
        """CREATE TABLE converge_reports (
            project TEXT NOT NULL,
            kind TEXT NOT NULL,
            command TEXT NOT NULL,
            run_id TEXT,
            recorded_at TEXT NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (project, kind)
        )""",
    ),
)

_ID_PK = {
    "sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT",
    "postgresql": "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
}


def advisory_key(project: str) -> int:
    """The signed 64-bit PostgreSQL advisory lock key of a project (stable everywhere)."""
    digest = hashlib.sha256(f"converge-project-lock:{project}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


_MIGRATION_KEY = advisory_key("\0schema-migration")


def redact_url(url: str) -> str:
    """A PostgreSQL URL without user or password, safe for messages."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class Database:
    """One connection to the journal's database, shared by the threads of one process.

    Every write goes through ``transaction()`` (SQLite: ``BEGIN IMMEDIATE`` so concurrent
    processes queue on the busy timeout instead of failing mid-transaction; PostgreSQL: a
    real transaction). A lock serialises the threads that share this connection.
    """

    def __init__(
        self,
        dialect: Dialect,
        conn: sqlite3.Connection | psycopg.Connection[Row],
        where: str,
        url: str = "",
    ) -> None:
        self.dialect: Dialect = dialect
        self.where = where
        self._url = url
        self._conn = conn
        self._lock = threading.RLock()
        self._depth = 0

    def new_pg_session(self) -> psycopg.Connection[Row]:
        """A separate autocommit PostgreSQL session to the same database: advisory locks
        are per session, so the lock must not share the journal's connection."""
        if self.dialect != "postgresql":
            raise JournalError("advisory locks need the PostgreSQL state")
        return _pg_connect(self._url, self.where)

    def _sql(self, statement: str, params: Params) -> str:
        if self.dialect == "postgresql" and params:
            return statement.replace("%", "%%").replace("?", "%s")
        return statement

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All statements inside commit together, or none does (re-entrant)."""
        with self._lock, self._errors():
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._depth = 1
            try:
                if isinstance(self._conn, sqlite3.Connection):
                    self._conn.execute("BEGIN IMMEDIATE")
                    try:
                        yield
                    except BaseException:
                        self._conn.rollback()
                        raise
                    self._conn.commit()
                else:
                    with self._conn.transaction():
                        yield
            finally:
                self._depth = 0

    def execute(self, statement: str, params: Params = ()) -> list[Row]:
        """Run one statement; return its rows (empty for statements without a result)."""
        with self._lock, self._errors():
            args = tuple(params)
            if isinstance(self._conn, sqlite3.Connection):
                cursor: Any = self._conn.execute(statement, args)
            else:
                cursor = self._conn.execute(self._sql(statement, args), args or None)
            if cursor.description is None:
                return []
            return [tuple(row) for row in cursor.fetchall()]

    def close(self) -> None:
        with self._lock, contextlib.suppress(Exception):
            self._conn.close()

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, psycopg.Error) as exc:
            kind = type(exc).__name__
            raise JournalError(
                f"the run journal at {self.where} failed ({kind}: {_first_line(exc)})",
                hint="check that the state database is reachable and writable",
            ) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else "no detail"


def connect(state: str, workspace_root: Path) -> Database:
    """Open (creating and migrating as needed) the database a ``state`` setting names."""
    if re.match(r"postgres(ql)?://", state):
        db = _connect_postgres(state)
    else:
        path = Path(state)
        if not path.is_absolute():
            path = workspace_root / path
        db = _connect_sqlite(path)
    try:
        migrate(db)
    except BaseException:
        db.close()
        raise
    return db


def _connect_sqlite(path: Path) -> Database:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
    except (OSError, sqlite3.Error) as exc:
        raise JournalError(f"cannot open the run journal at {path} ({exc})") from None
    db = Database("sqlite", conn, str(path))
    # WAL lets readers (status) run beside a writer; FULL sync keeps a committed intent
    # through a power cut; the busy timeout makes concurrent writers wait, not fail.
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    db.execute("PRAGMA foreign_keys=ON")
    return db


def _connect_postgres(url: str) -> Database:
    where = redact_url(url)
    return Database("postgresql", _pg_connect(url, where), where, url)


def _pg_connect(url: str, where: str) -> psycopg.Connection[Row]:
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise JournalError(
            f"cannot connect to the run journal at {where} ({type(exc).__name__})",
            hint="check the state URL in converge.yaml and that the server is reachable",
        ) from None


def migrate(db: Database) -> int:
    """Bring the schema forward to ``SCHEMA_VERSION``; return the version found before.

    Concurrent first opens are safe: SQLite serialises on ``BEGIN IMMEDIATE`` and
    PostgreSQL on a transaction-scoped advisory lock; the version is re-read inside.
    """
    with db.transaction():
        if db.dialect == "postgresql":
            db.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_KEY,))
        db.execute("CREATE TABLE IF NOT EXISTS converge_schema_version (version INTEGER NOT NULL)")
        rows = db.execute("SELECT version FROM converge_schema_version")
        found = int(rows[0][0]) if rows else 0
        if found > SCHEMA_VERSION:
            raise JournalError(
                f"the run journal at {db.where} has schema version {found}, newer than this "
                f"converge understands ({SCHEMA_VERSION})",
                hint="upgrade converge",
            )
        if not rows:
            db.execute("INSERT INTO converge_schema_version (version) VALUES (0)")
        for version in range(found + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[version - 1]:
                db.execute(statement.format(id_pk=_ID_PK[db.dialect]))
            db.execute("UPDATE converge_schema_version SET version = ?", (version,))
    return found
