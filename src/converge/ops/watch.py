"""The watch loop: check every project on an interval, back off after failures, stop cleanly.

Why a loop of its own and not cron: a long-running watcher keeps per-project state that
cron cannot (consecutive failures and the backoff they earn, when drift was first seen,
vendor request totals) and serves it to Prometheus. The loop knows nothing of vendors: it
calls a ``Cycle`` (``watch_cycle.EngineCycle`` checks drift with a plan and, with
``--heal``, applies) and schedules the project's next turn from what it returned.

Scheduling, per project::

    next turn = now + delay(failures) × (1 ± jitter)
    delay(0)  = interval                         (in sync, drift, healed, busy)
    delay(n)  = min(interval × 2ⁿ, max_backoff)  (n consecutive failures)

Jitter spreads projects (and several watchers) so they do not hit the vendors together.
A stop request (SIGTERM/SIGINT in the CLI) lets the cycle in hand finish, then the loop
returns; the cycle releases its locks on its way out. Time and waiting are injected
(``clock``, ``wait``, ``rng``) so tests run the schedule without sleeping.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

__all__ = [
    "BackoffPolicy",
    "Cycle",
    "CycleReport",
    "Outcome",
    "Watcher",
    "format_interval",
    "parse_interval",
]

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_INTERVAL = re.compile(r"(\d+(?:\.\d+)?)([smh])")


def parse_interval(text: str) -> float:
    """Seconds in ``30s``, ``5m``, ``1h`` or a sum such as ``1h30m``; ValueError otherwise."""
    cleaned = text.strip().lower()
    parts = _INTERVAL.findall(cleaned)
    if not cleaned or "".join(n + u for n, u in parts) != cleaned:
        raise ValueError(f"{text!r} is not an interval like 30s, 5m or 1h")
    seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError(f"interval {text!r} must be longer than zero")
    return seconds


def format_interval(seconds: float) -> str:
    """``90`` -> ``1m30s``: how the CLI prints a delay."""
    whole = max(int(round(seconds)), 0)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = "".join(f"{v}{u}" for v, u in ((hours, "h"), (minutes, "m"), (secs, "s")) if v)
    return text or "0s"


class Outcome(StrEnum):
    IN_SYNC = "in_sync"  # the plan is empty
    DRIFT = "drift"  # the plan has changes; reported, not applied
    HEALED = "healed"  # the plan had changes and --heal applied them
    FAILED = "failed"  # plan or apply raised a ConvergeError
    BUSY = "busy"  # another run holds the project's lock; try again next turn

    @property
    def failure(self) -> bool:
        return self is Outcome.FAILED


@dataclass(frozen=True)
class CycleReport:
    """What one cycle of one project found and did. ``message`` holds no secret."""

    project: str
    outcome: Outcome
    message: str = ""
    changes: int = 0


class Cycle(Protocol):
    """One turn for one project; must not raise for a ConvergeError (report FAILED)."""

    def __call__(self, project: str) -> CycleReport: ...


@dataclass(frozen=True)
class BackoffPolicy:
    interval: float
    max_backoff: float = 3600.0
    jitter: float = 0.1  # ± share of the delay

    def delay(self, failures: int, rand: float = 0.5) -> float:
        """Seconds until the next turn after ``failures`` consecutive failures; ``rand``
        in [0, 1) picks the jitter (0.5 = none)."""
        base = self.interval
        if failures > 0:
            ceiling = max(self.max_backoff, self.interval)
            base = min(self.interval * (2.0 ** min(failures, 32)), ceiling)
        return base * (1.0 + self.jitter * (2.0 * rand - 1.0))


@dataclass
class _Turn:
    due: float
    failures: int = 0


@dataclass
class Watcher:
    """Runs ``cycle`` for each project whenever its turn is due, until stopped.

    ``on_report(report, delay)`` is called after each cycle with the seconds until the
    project's next turn (the CLI prints it; metrics count it).
    """

    projects: Sequence[str]
    cycle: Cycle
    policy: BackoffPolicy
    clock: Callable[[], float] = time.monotonic
    wait: Callable[[float], bool] | None = None  # sleep up to N s; True = stop requested
    rng: Callable[[], float] = random.random
    on_report: Callable[[CycleReport, float], None] | None = None
    stop_event: threading.Event = field(default_factory=threading.Event)
    turns: dict[str, _Turn] = field(default_factory=dict)

    def request_stop(self) -> None:
        """Finish the cycle in hand, then return from ``run`` (safe from a signal handler)."""
        self.stop_event.set()

    @property
    def stopping(self) -> bool:
        return self.stop_event.is_set()

    def failures(self, project: str) -> int:
        turn = self.turns.get(project)
        return turn.failures if turn else 0

    def run(self, *, once: bool = False) -> list[CycleReport]:
        """Loop until stopped (or, with ``once``, one cycle per project); return the
        latest report of each project that ran."""
        start = self.clock()
        for project in self.projects:
            self.turns.setdefault(project, _Turn(due=start))
        latest: dict[str, CycleReport] = {}
        while not self.stopping:
            now = self.clock()
            due = [p for p in self.projects if self.turns[p].due <= now]
            if not due:
                nearest = min(self.turns[p].due for p in self.projects)
                if self._wait(nearest - now):
                    break
                continue
            for project in due:
                if self.stopping:
                    break
                latest[project] = self._turn(project)
            if once and all(p in latest for p in self.projects):
                break
        return [latest[p] for p in self.projects if p in latest]

    def _turn(self, project: str) -> CycleReport:
        report = self.cycle(project)
        turn = self.turns[project]
        turn.failures = turn.failures + 1 if report.outcome.failure else 0
        delay = self.policy.delay(turn.failures, self.rng())
        turn.due = self.clock() + delay
        if self.on_report is not None:
            self.on_report(report, delay)
        return report

    def _wait(self, seconds: float) -> bool:
        seconds = max(seconds, 0.0)
        if self.wait is not None:
            return self.wait(seconds) or self.stopping
        return self.stop_event.wait(seconds)
