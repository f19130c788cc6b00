"""The sandbox request log: what each emulator was asked, never what was said.

An entry holds vendor, method, path (no query string), status, duration and the injected
fault if any; never headers, bodies, tokens or query values. Entries live in a bounded ring
plus exact counters per (vendor, method, path), so counts stay right after the ring wraps.
With a ``path``, entries are also appended to a JSON-lines file by a background thread in
batches (no disk I/O on the request path).

Other processes read it through ``GET /__sandbox/requests`` on any sandbox server (see
``middleware``); ``fetch_request_log`` and ``reset_request_log`` are the client side.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections import Counter, deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from converge_sandbox.faults import READ_METHODS

# POSTs that change nothing a reconciler manages: logins and access-token renewals, and
# SQL on the read-only endpoint.
_READ_ONLY_POST_SUFFIXES = (
    "/database/query/read-only",
    "/auth/universal-auth/login",
    "/auth/token-auth/login",
    "/auth/token/renew",
)


def is_write_request(method: str, path: str) -> bool:
    """Whether a request can change vendor state (what "zero writes" counts)."""
    if method in READ_METHODS:
        return False
    return not (method == "POST" and path.endswith(_READ_ONLY_POST_SUFFIXES))

DEFAULT_CAPACITY = 100_000


@dataclass(frozen=True)
class RequestEntry:
    at: float  # epoch seconds when the request arrived
    vendor: str
    method: str
    path: str
    # What the emulator answered: 0 for a dropped connection (the emulator never ran), 499
    # when the client went away first; with fault "lost_response" the emulator's status,
    # which the client never received.
    status: int
    duration_ms: float
    fault: str = ""  # "", "error", "drop", "lost_response", "rate_limited" or "unseeded"

    @property
    def is_write(self) -> bool:
        return is_write_request(self.method, self.path)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _matches(
    vendor: str | None, method: str | None, path_prefix: str, entry: tuple[str, str, str]
) -> bool:
    return (
        (vendor is None or entry[0] == vendor)
        and (method is None or entry[1] == method)
        and entry[2].startswith(path_prefix)
    )


class RequestLog:
    """Bounded in-memory log with exact counters and optional batched file output."""

    def __init__(
        self,
        path: Path | None = None,
        *,
        capacity: int = DEFAULT_CAPACITY,
        flush_interval: float = 0.25,
    ):
        self._lock = threading.Lock()
        self._ring: deque[RequestEntry] = deque(maxlen=capacity)
        self._counts: Counter[tuple[str, str, str]] = Counter()
        self._path = path
        self._pending: list[RequestEntry] = []
        self._flush_interval = flush_interval
        self._stop = threading.Event()
        self._writer: threading.Thread | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = threading.Thread(
                target=self._write_loop, name="sandbox-request-log", daemon=True
            )
            self._writer.start()

    @property
    def path(self) -> Path | None:
        return self._path

    def record(self, entry: RequestEntry) -> None:
        with self._lock:
            self._ring.append(entry)
            self._counts[(entry.vendor, entry.method, entry.path)] += 1
            if self._path is not None:
                self._pending.append(entry)

    def entries(self, vendor: str | None = None) -> list[RequestEntry]:
        """Retained entries, oldest first (the ring keeps the most recent ``capacity``)."""
        with self._lock:
            return [e for e in self._ring if vendor is None or e.vendor == vendor]

    def count(
        self, vendor: str | None = None, method: str | None = None, path_prefix: str = ""
    ) -> int:
        """Exact number of requests since the last reset that match every filter given."""
        method = method.upper() if method else None
        with self._lock:
            return sum(
                n for key, n in self._counts.items() if _matches(vendor, method, path_prefix, key)
            )

    def writes(self, vendor: str | None = None) -> list[RequestEntry]:
        """Retained entries whose method changes state (not GET/HEAD/OPTIONS)."""
        return [e for e in self.entries(vendor) if e.is_write]

    def write_count(self, vendor: str | None = None) -> int:
        with self._lock:
            return sum(
                n
                for (v, m, p), n in self._counts.items()
                if is_write_request(m, p) and (vendor is None or v == vendor)
            )

    def reset(self) -> None:
        """Forget entries and counters (the file keeps its history)."""
        with self._lock:
            self._ring.clear()
            self._counts.clear()

    def flush(self) -> None:
        """Append pending entries to the file now."""
        with self._lock:
            batch, self._pending = self._pending, []
        if batch and self._path is not None:
            with self._path.open("a", encoding="utf-8") as out:
                out.writelines(json.dumps(e.to_json(), separators=(",", ":")) + "\n"
                               for e in batch)

    def close(self) -> None:
        self._stop.set()
        if self._writer is not None:
            self._writer.join(5.0)
            self._writer = None
        self.flush()

    def _write_loop(self) -> None:
        while not self._stop.wait(self._flush_interval):
            try:
                self.flush()
            except OSError:
                time.sleep(self._flush_interval)  # a full disk must not kill the sandbox

    def snapshot(self, vendor: str | None = None, limit: int | None = None) -> dict[str, Any]:
        """The JSON served at ``GET /__sandbox/requests``."""
        entries = self.entries(vendor)
        if limit is not None:
            entries = entries[-limit:] if limit > 0 else []
        with self._lock:
            counts = [
                {"vendor": v, "method": m, "path": p, "count": n}
                for (v, m, p), n in sorted(self._counts.items())
                if vendor is None or v == vendor
            ]
        return {"entries": [e.to_json() for e in entries], "counts": counts}


@dataclass(frozen=True)
class RequestLogSnapshot:
    """A copy of a running sandbox's log, fetched over HTTP from another process."""

    entries: tuple[RequestEntry, ...]
    counts: tuple[tuple[str, str, str, int], ...]

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> RequestLogSnapshot:
        return cls(
            entries=tuple(RequestEntry(**e) for e in doc.get("entries", [])),
            counts=tuple((c["vendor"], c["method"], c["path"], c["count"])
                         for c in doc.get("counts", [])),
        )

    def count(
        self, vendor: str | None = None, method: str | None = None, path_prefix: str = ""
    ) -> int:
        method = method.upper() if method else None
        return sum(n for v, m, p, n in self.counts if _matches(vendor, method, path_prefix,
                                                                 (v, m, p)))

    def writes(self, vendor: str | None = None) -> list[RequestEntry]:
        return [e for e in self.entries if e.is_write and (vendor is None or e.vendor == vendor)]


def fetch_request_log(
    base_url: str, *, vendor: str | None = None, limit: int | None = None, timeout: float = 5.0
) -> RequestLogSnapshot:
    """Read the log of the sandbox serving ``base_url`` (any of its three servers)."""
    query = "&".join(
        f"{k}={v}" for k, v in (("vendor", vendor), ("limit", limit)) if v is not None
    )
    url = f"{base_url.rstrip('/')}/__sandbox/requests" + (f"?{query}" if query else "")
    with urllib.request.urlopen(url, timeout=timeout) as response:  # loopback only
        doc: dict[str, Any] = json.load(response)
    return RequestLogSnapshot.from_json(doc)


def reset_request_log(base_url: str, *, timeout: float = 5.0) -> None:
    """Clear the log of the sandbox serving ``base_url``."""
    request = urllib.request.Request(
        f"{base_url.rstrip('/')}/__sandbox/requests", method="DELETE"
    )
    with urllib.request.urlopen(request, timeout=timeout):  # loopback only
        pass

