"""Persistent object store shared by the three vendor emulators.

Every emulated object is a JSON document filed under ``(vendor, kind, key)``, e.g.
``("vercel", "env", "prj_123/env_abc")``. Reads are served from memory; every write goes
through to SQLite at once, so a second process opening the same directory (a later
``converge`` command, or ``converge sandbox env``) sees one world. The store knows nothing
about vendor semantics; each emulator owns the shape of its documents.
"""

from __future__ import annotations

import json
import pickle
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

Document = dict[str, Any]


def _freeze(doc: Document) -> bytes:
    # Kept pickled: every read hands out a private copy, and unpickling is several times
    # cheaper than copy.deepcopy (the env-list benchmark reads dozens of documents a call).
    return pickle.dumps(doc, protocol=pickle.HIGHEST_PROTOCOL)


def _thaw(blob: bytes) -> Document:
    doc: Document = pickle.loads(blob)  # noqa: S301 - only blobs this process pickled
    return doc

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    vendor TEXT NOT NULL,
    kind   TEXT NOT NULL,
    key    TEXT NOT NULL,
    body   TEXT NOT NULL,
    PRIMARY KEY (vendor, kind, key)
);
"""


class SandboxStore:
    """Write-through document store: memory for speed, SQLite for persistence.

    ``path=None`` keeps everything in memory (fast unit tests).
    """

    def __init__(self, path: Path | None = None):
        self._lock = threading.RLock()
        self._data: dict[tuple[str, str], dict[str, bytes]] = {}
        self._path = path
        self._db: sqlite3.Connection | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            for vendor, kind, key, body in self._db.execute(
                "SELECT vendor, kind, key, body FROM objects ORDER BY rowid"
            ):
                self._data.setdefault((vendor, kind), {})[key] = _freeze(json.loads(body))

    @property
    def path(self) -> Path | None:
        return self._path

    def get(self, vendor: str, kind: str, key: str) -> Document | None:
        """A deep copy of one document, or None."""
        with self._lock:
            blob = self._data.get((vendor, kind), {}).get(key)
            return _thaw(blob) if blob is not None else None

    def list(self, vendor: str, kind: str, prefix: str = "") -> list[Document]:
        """Deep copies of every document of a kind whose key starts with ``prefix``,
        in insertion order."""
        with self._lock:
            bucket = self._data.get((vendor, kind), {})
            return [_thaw(d) for k, d in bucket.items() if k.startswith(prefix)]

    def keys(self, vendor: str, kind: str, prefix: str = "") -> Iterator[str]:
        with self._lock:
            bucket = self._data.get((vendor, kind), {})
            return iter([k for k in bucket if k.startswith(prefix)])

    def reload(self, vendor: str, kind: str, key: str) -> Document | None:
        """Re-read one document from disk into memory, for one another process may have
        written since this store was opened (``converge sandbox env`` issues a token from
        its own process); None if it is not on disk either, or the store is in memory."""
        with self._lock:
            if self._db is None:
                return None
            row = self._db.execute(
                "SELECT body FROM objects WHERE vendor = ? AND kind = ? AND key = ?",
                (vendor, kind, key),
            ).fetchone()
            if row is None:
                return None
            doc: Document = json.loads(row[0])
            self._data.setdefault((vendor, kind), {})[key] = _freeze(doc)
            return _thaw(self._data[(vendor, kind)][key])

    def put(self, vendor: str, kind: str, key: str, doc: Document) -> None:
        """Insert or replace a document (persisted before returning)."""
        body = json.dumps(doc, sort_keys=True)
        with self._lock:
            self._data.setdefault((vendor, kind), {})[key] = _freeze(json.loads(body))
            if self._db is not None:
                self._db.execute(
                    "INSERT INTO objects(vendor, kind, key, body) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(vendor, kind, key) DO UPDATE SET body = excluded.body",
                    (vendor, kind, key, body),
                )

    def delete(self, vendor: str, kind: str, key: str) -> bool:
        """Remove a document; True if it existed."""
        with self._lock:
            existed = self._data.get((vendor, kind), {}).pop(key, None) is not None
            if self._db is not None:
                self._db.execute(
                    "DELETE FROM objects WHERE vendor = ? AND kind = ? AND key = ?",
                    (vendor, kind, key),
                )
            return existed

    def clear(self, vendor: str | None = None) -> None:
        """Forget everything (or one vendor's documents)."""
        with self._lock:
            for bucket in list(self._data):
                if vendor is None or bucket[0] == vendor:
                    del self._data[bucket]
            if self._db is not None:
                if vendor is None:
                    self._db.execute("DELETE FROM objects")
                else:
                    self._db.execute("DELETE FROM objects WHERE vendor = ?", (vendor,))

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
