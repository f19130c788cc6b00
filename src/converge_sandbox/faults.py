"""Seeded fault injection for the sandbox servers.

A ``FaultSpec`` is parsed from the comma list of ``CONVERGE_SANDBOX_FAULTS`` or ``--faults``
(architecture §7), e.g. ``latency=150ms,jitter=20ms,error_rate=0.2,error_codes=429/503,
drop_rate=0.02,lost_response_rate=0.05,seed=7``. Besides those:

- ``fail_write=3`` answers the 3rd write with an error (``3/7`` for several);
- ``lost_response_rate=R`` lets a write (POST/PUT/PATCH/DELETE) reach the emulator and
  commit, then closes the connection before the response is sent: the client sees a
  transport error, not a status, and cannot tell whether its write happened (the failure
  that makes retries dangerous). ``lost_response_after=N`` does it to the N-th write
  (``3/7`` for several), i.e. the response is lost after that write commits;
- ``vendor=vercel`` (``vercel/supabase`` for several) limits faults to some servers.

Drops and injected errors happen before the emulator sees the request (nothing changes);
a lost response happens after it answered (the change is made). A request draws at most
one fault, in that order of precedence: drop, ``fail_write``, error, lost response.

Streams: each vendor's server owns a ``FaultInjector`` whose ``random.Random`` is seeded
from the spec's seed *and the vendor's name* (``vendor_seed``), so one seed makes the three
vendors fail at different request numbers, while each vendor's stream stays fixed. Every
request draws the same number of values, in arrival order, whatever the outcome, so the
same seed and the same request sequence replay the same faults, and one vendor's traffic
never shifts another vendor's faults.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from enum import Enum

from converge.errors import SandboxError

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_DURATION_UNITS = {"ms": 0.001, "s": 1.0}


class FaultKind(Enum):
    NONE = "none"
    ERROR = "error"
    DROP = "drop"
    LOST_RESPONSE = "lost_response"


@dataclass(frozen=True)
class FaultSpec:
    """What to inject; the all-default spec injects nothing."""

    latency: float = 0.0  # seconds added to every request
    jitter: float = 0.0  # up to this many seconds more, uniformly drawn
    error_rate: float = 0.0
    error_codes: tuple[int, ...] = (503,)
    drop_rate: float = 0.0
    seed: int = 0
    fail_writes: frozenset[int] = frozenset()  # 1-based ordinal of writes that fail
    lost_response_rate: float = 0.0
    lost_writes: frozenset[int] = frozenset()  # 1-based ordinal of writes whose answer is lost
    vendors: frozenset[str] = frozenset()  # empty = every vendor

    @property
    def active(self) -> bool:
        return bool(
            self.latency or self.jitter or self.error_rate or self.drop_rate or self.fail_writes
            or self.lost_response_rate or self.lost_writes
        )

    def applies_to(self, vendor: str) -> bool:
        return self.active and (not self.vendors or vendor in self.vendors)


@dataclass(frozen=True)
class FaultDecision:
    """The fault chosen for one request."""

    kind: FaultKind = FaultKind.NONE
    delay: float = 0.0
    status: int = 0


NO_FAULT = FaultDecision()


def vendor_seed(seed: int, vendor: str) -> int:
    """The seed of one vendor's fault stream: a digest of the spec's seed and the vendor's
    name (stable across processes and Python versions, unlike ``hash()``)."""
    digest = hashlib.sha256(f"converge-sandbox-faults/{vendor}/{seed}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


@dataclass
class FaultInjector:
    """Draws one ``FaultDecision`` per request from ``vendor``'s stream of the spec's seed.

    Not thread-safe by design: a server's requests are decided on its event loop, in order.
    """

    spec: FaultSpec
    vendor: str = ""
    _rng: random.Random = field(init=False)
    _writes: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self._rng = random.Random(vendor_seed(self.spec.seed, self.vendor))

    def decide(self, method: str) -> FaultDecision:
        spec = self.spec
        rng = self._rng
        # Always five draws per request, so the sequence never depends on outcomes.
        jitter_draw, drop_draw, error_draw, code_draw, lost_draw = (
            rng.random(),
            rng.random(),
            rng.random(),
            rng.random(),
            rng.random(),
        )
        delay = spec.latency + spec.jitter * jitter_draw
        is_write = method not in READ_METHODS
        if is_write:
            self._writes += 1
        if drop_draw < spec.drop_rate:
            return FaultDecision(FaultKind.DROP, delay)
        codes = spec.error_codes
        if is_write and self._writes in spec.fail_writes:
            return FaultDecision(FaultKind.ERROR, delay, codes[0])
        if error_draw < spec.error_rate:
            return FaultDecision(FaultKind.ERROR, delay, codes[int(code_draw * len(codes))])
        if is_write and (self._writes in spec.lost_writes or lost_draw < spec.lost_response_rate):
            return FaultDecision(FaultKind.LOST_RESPONSE, delay)
        return FaultDecision(FaultKind.NONE, delay)


def parse_duration(text: str) -> float:
    """``150ms`` or ``1.5s`` (a bare number means milliseconds) → seconds."""
    value = text.strip().lower()
    for unit in ("ms", "s"):
        if value.endswith(unit):
            return float(value[: -len(unit)]) * _DURATION_UNITS[unit]
    return float(value) * _DURATION_UNITS["ms"]


def _parse_rate(name: str, text: str) -> float:
    rate = float(text)
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1")
    return rate


def parse_faults(text: str | None) -> FaultSpec:
    """Parse a fault list; raises ``SandboxError`` naming the bad item."""
    if not text or not text.strip():
        return FaultSpec()
    values: dict[str, object] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        name, sep, raw = item.partition("=")
        name = name.strip().lower().replace("-", "_")
        raw = raw.strip()
        try:
            if not sep or not raw:
                raise ValueError("expected name=value")
            if name in ("latency", "jitter"):
                values[name] = parse_duration(raw)
            elif name in ("error_rate", "drop_rate", "lost_response_rate"):
                values[name] = _parse_rate(name, raw)
            elif name == "error_codes":
                codes = tuple(int(c) for c in raw.split("/") if c)
                if not codes or any(not 400 <= c <= 599 for c in codes):
                    raise ValueError("error codes must be HTTP 4xx/5xx statuses")
                values[name] = codes
            elif name == "seed":
                values[name] = int(raw)
            elif name in ("fail_write", "lost_response_after"):
                ordinals = frozenset(int(n) for n in raw.split("/") if n)
                if not ordinals or min(ordinals) < 1:
                    raise ValueError("write numbers start at 1")
                values["fail_writes" if name == "fail_write" else "lost_writes"] = ordinals
            elif name in ("vendor", "vendors"):
                values["vendors"] = frozenset(v.strip().lower() for v in raw.split("/") if v)
            else:
                raise ValueError("unknown fault")
        except ValueError as exc:
            raise SandboxError(
                f"invalid fault {item.strip()!r}: {exc}",
                hint="e.g. latency=150ms,jitter=20ms,error_rate=0.2,error_codes=429/503,"
                "drop_rate=0.02,lost_response_rate=0.05,fail_write=3,vendor=vercel,seed=7",
            ) from None
    return FaultSpec(**values)  # type: ignore[arg-type]
