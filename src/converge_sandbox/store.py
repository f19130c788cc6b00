"""Persistent object store shared by the three vendor emulators.

Every emulated object is a JSON document filed under ``(vendor, kind, key)``, e.g.
``("vercel", "env", "prj_123/env_abc")``. Reads are served from memory; every write goes
through to SQLite at once, so a second process opening the same directory (a later
``converge`` command, or ``converge sandbox env``) sees one world. The store knows nothing
about vendor semantics; each emulator owns the shape of its documents.

Why copies and views: a document handed to an emulator is its own copy (handlers change
what they read, then ``put`` it back), unpickled from a blob kept for that purpose. Most
reads only look (a lookup by slug, a list rendered as JSON), and at a few hundred projects
copying every document a lookup passes over dominated the sandbox's CPU; those read the
stored documents through ``view``/``views``/``find``/``first`` instead, with no copy.
"""

from __future__ import annotations

import json
import pickle
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

Document = dict[str, Any]
# A stored document as it is kept, shared by every reader: look, never change.
View = Mapping[str, Any]
Views = list[View]  # named here: inside SandboxStore, ``list`` is its method
Documents = list[Document]
_SEPARATORS = ("/", "|")


def _freeze(doc: Document) -> bytes:
    # Kept pickled too: a copy handed out is unpickled, several times cheaper than
    # copy.deepcopy (the env-list benchmark reads dozens of documents a call).
    return pickle.dumps(doc, protocol=pickle.HIGHEST_PROTOCOL)


def _thaw(blob: bytes) -> Document:
    doc: Document = pickle.loads(blob)  # noqa: S301 - only blobs this process pickled
    return doc


def _group(key: str) -> str | None:
    """The part of a key before its first separator (``prj_1`` of ``prj_1/env_2``,
    ``<projectId>`` of ``<projectId>|prod|/|KEY``); None for a key without one."""
    cut = min((i for i in (key.find(sep) for sep in _SEPARATORS) if i >= 0), default=-1)
    return key[:cut] if cut >= 0 else None


class _Bucket:
    """The documents of one ``(vendor, kind)``: each parsed once and kept read-only
    (``docs``) beside its pickled form (``blobs``, for copies), in insertion order, with
    the keys grouped by their first segment so a prefix listing reads only its group."""

    __slots__ = ("blobs", "docs", "groups")

    def __init__(self) -> None:
        self.docs: dict[str, Document] = {}
        self.blobs: dict[str, bytes] = {}
        self.groups: dict[str | None, dict[str, None]] = {}

    def put(self, key: str, doc: Document) -> None:
        if key not in self.docs:
            self.groups.setdefault(_group(key), {})[key] = None
        self.docs[key] = doc
        self.blobs[key] = _freeze(doc)

    def pop(self, key: str) -> bool:
        if self.docs.pop(key, None) is None:
            return False
        del self.blobs[key]
        group = _group(key)
        members = self.groups[group]
        del members[key]
        if not members:
            del self.groups[group]
        return True

    def keys(self, prefix: str) -> list[str]:
        """Keys starting with ``prefix``, in insertion order."""
        if not prefix:
            return list(self.docs)
        group = _group(prefix)
        if group is None:  # no separator: the prefix may span groups
            return [k for k in self.docs if k.startswith(prefix)]
        return [k for k in self.groups.get(group, {}) if k.startswith(prefix)]


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

    Reads that hand a document out (``get``, ``list``, ``find``) give a private copy the
    caller may change; ``view``/``views`` and the predicates of ``find``/``first`` see the
    stored document itself, without a copy, and must only look at it (typed ``Mapping``):
    a lookup that reads one field of every project no longer copies every project.
    """

    def __init__(self, path: Path | None = None):
        self._lock = threading.RLock()
        self._data: dict[tuple[str, str], _Bucket] = {}
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
                self._bucket(vendor, kind).put(key, json.loads(body))

    @property
    def path(self) -> Path | None:
        return self._path

    def _bucket(self, vendor: str, kind: str) -> _Bucket:
        bucket = self._data.get((vendor, kind))
        if bucket is None:
            bucket = self._data[(vendor, kind)] = _Bucket()
        return bucket

    def get(self, vendor: str, kind: str, key: str) -> Document | None:
        """A deep copy of one document, or None."""
        with self._lock:
            bucket = self._data.get((vendor, kind))
            blob = bucket.blobs.get(key) if bucket is not None else None
            return _thaw(blob) if blob is not None else None

    def list(self, vendor: str, kind: str, prefix: str = "") -> list[Document]:
        """Deep copies of every document of a kind whose key starts with ``prefix``,
        in insertion order."""
        with self._lock:
            bucket = self._data.get((vendor, kind))
            if bucket is None:
                return []
            blobs = bucket.blobs
            return [_thaw(blobs[k]) for k in bucket.keys(prefix)]

    def view(self, vendor: str, kind: str, key: str) -> View | None:
        """The stored document itself (no copy), or None: look, never change."""
        with self._lock:
            bucket = self._data.get((vendor, kind))
            return bucket.docs.get(key) if bucket is not None else None

    def views(self, vendor: str, kind: str, prefix: str = "") -> Views:
        """``list`` without the copies: the stored documents themselves, for a caller
        that only reads them (renders, validates into a model, filters)."""
        with self._lock:
            bucket = self._data.get((vendor, kind))
            if bucket is None:
                return []
            docs = bucket.docs
            return [docs[k] for k in bucket.keys(prefix)]

    def find(self, vendor: str, kind: str, where: Callable[[View], bool],
             prefix: str = "") -> Documents:
        """Copies of the documents ``where`` accepts (it sees each stored document, not
        a copy), in insertion order."""
        with self._lock:
            bucket = self._data.get((vendor, kind))
            if bucket is None:
                return []
            docs, blobs = bucket.docs, bucket.blobs
            return [_thaw(blobs[k]) for k in bucket.keys(prefix) if where(docs[k])]

    def first(self, vendor: str, kind: str, where: Callable[[View], bool],
              prefix: str = "") -> Document | None:
        """A copy of the first document ``where`` accepts, or None."""
        with self._lock:
            bucket = self._data.get((vendor, kind))
            if bucket is None:
                return None
            docs = bucket.docs
            for key in bucket.keys(prefix):
                if where(docs[key]):
                    return _thaw(bucket.blobs[key])
            return None

    def keys(self, vendor: str, kind: str, prefix: str = "") -> Iterator[str]:
        with self._lock:
            bucket = self._data.get((vendor, kind))
            return iter(bucket.keys(prefix) if bucket is not None else [])

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
            bucket = self._bucket(vendor, kind)
            bucket.put(key, json.loads(row[0]))
            return _thaw(bucket.blobs[key])

    def put(self, vendor: str, kind: str, key: str, doc: Document) -> None:
        """Insert or replace a document (persisted before returning)."""
        body = json.dumps(doc, sort_keys=True)
        with self._lock:
            # Kept as parsed from its JSON: a private object no caller holds.
            self._bucket(vendor, kind).put(key, json.loads(body))
            if self._db is not None:
                self._db.execute(
                    "INSERT INTO objects(vendor, kind, key, body) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(vendor, kind, key) DO UPDATE SET body = excluded.body",
                    (vendor, kind, key, body),
                )

    def delete(self, vendor: str, kind: str, key: str) -> bool:
        """Remove a document; True if it existed."""
        with self._lock:
            bucket = self._data.get((vendor, kind))
            existed = bucket.pop(key) if bucket is not None else False
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
