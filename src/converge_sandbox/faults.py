"""Seeded fault injection for the sandbox servers.

A ``FaultSpec`` is parsed from the comma list of ``CONVERGE_SANDBOX_FAULTS`` or ``--faults``
(DESIGN.md §7), e.g. ``latency=150ms,jitter=20ms,error_rate=0.2,error_codes=429/503,
drop_rate=0.02,seed=7``, plus ``fail_write=3`` (fail the 3rd write; ``3/7`` for several) and
``vendor=vercel`` (``vercel/supabase`` for several) to limit faults to some servers.

Replay is exact: each server owns a ``FaultInjector`` with its own ``random.Random(seed)``
and draws the same number of values for every request, in arrival order, whatever the
outcome. So the same seed and the same request sequence give the same faults, and one
vendor's traffic never shifts another vendor's faults.
"""

from __future__ import annotations

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
    vendors: frozenset[str] = frozenset()  # empty = every vendor

    @property
    def active(self) -> bool:
        return bool(
            self.latency or self.jitter or self.error_rate or self.drop_rate or self.fail_writes
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


@dataclass
class FaultInjector:
    """Draws one ``FaultDecision`` per request, deterministically from the spec's seed.

    Not thread-safe by design: a server's requests are decided on its event loop, in order.
    """

    spec: FaultSpec
    _rng: random.Random = field(init=False)
    _writes: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.spec.seed)

    def decide(self, method: str) -> FaultDecision:
        spec = self.spec
        rng = self._rng
        # Always four draws per request, so the sequence never depends on outcomes.
        jitter_draw, drop_draw, error_draw, code_draw = (
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
            elif name in ("error_rate", "drop_rate"):
                values[name] = _parse_rate(name, raw)
            elif name == "error_codes":
                codes = tuple(int(c) for c in raw.split("/") if c)
                if not codes or any(not 400 <= c <= 599 for c in codes):
                    raise ValueError("error codes must be HTTP 4xx/5xx statuses")
                values[name] = codes
            elif name == "seed":
                values[name] = int(raw)
            elif name == "fail_write":
                values["fail_writes"] = frozenset(int(n) for n in raw.split("/") if n)
            elif name in ("vendor", "vendors"):
                values["vendors"] = frozenset(v.strip().lower() for v in raw.split("/") if v)
            else:
                raise ValueError("unknown fault")
        except ValueError as exc:
            raise SandboxError(
                f"invalid fault {item.strip()!r}: {exc}",
                hint="e.g. latency=150ms,jitter=20ms,error_rate=0.2,error_codes=429/503,"
                "drop_rate=0.02,fail_write=3,vendor=vercel,seed=7",
            ) from None
    return FaultSpec(**values)  # type: ignore[arg-type]
