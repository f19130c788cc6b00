"""The watch loop's schedule: intervals, jitter, per-project backoff, stopping (no sleeping:
the clock and the wait are injected)."""

from __future__ import annotations

import pytest

from converge.ops.watch import (
    BackoffPolicy,
    CycleReport,
    Outcome,
    Watcher,
    format_interval,
    parse_interval,
)


class FakeTime:
    """A clock that only moves when the watcher waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return False


class ScriptedCycle:
    """Returns the scripted outcome per project per turn; records when each turn ran."""

    def __init__(self, time: FakeTime, script: dict[str, list[Outcome]]) -> None:
        self.time = time
        self.script = script
        self.calls: list[tuple[str, float]] = []

    def __call__(self, project: str) -> CycleReport:
        self.calls.append((project, self.time.now))
        outcomes = self.script[project]
        outcome = outcomes.pop(0) if len(outcomes) > 1 else outcomes[0]
        return CycleReport(project, outcome)


def _stop_after(watcher: Watcher, cycle: ScriptedCycle, turns: int) -> None:
    original = cycle.__call__

    def counting(project: str) -> CycleReport:
        report = original(project)
        if len(cycle.calls) >= turns:
            watcher.request_stop()
        return report

    watcher.cycle = counting


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30.0), ("5m", 300.0), ("1h", 3600.0), ("1h30m", 5400.0), (" 2M ", 120.0)],
)
def test_parse_interval_reads_seconds_minutes_hours(text: str, seconds: float) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "5x", "0s", "m5", "5m 3s", "-1m", "1.5.2h"])
def test_parse_interval_refuses_what_is_not_an_interval(text: str) -> None:
    with pytest.raises(ValueError):
        parse_interval(text)


def test_format_interval_prints_the_largest_units() -> None:
    assert [format_interval(s) for s in (0, 45, 90, 3600, 5400.4)] == [
        "0s",
        "45s",
        "1m30s",
        "1h",
        "1h30m",
    ]


def test_backoff_doubles_per_failure_up_to_the_ceiling() -> None:
    policy = BackoffPolicy(interval=60, max_backoff=600, jitter=0.0)
    assert [policy.delay(n) for n in range(6)] == [60, 120, 240, 480, 600, 600]


def test_backoff_never_waits_less_than_the_interval_when_the_ceiling_is_lower() -> None:
    policy = BackoffPolicy(interval=300, max_backoff=60, jitter=0.0)
    assert policy.delay(3) == 300


def test_jitter_stays_within_its_share() -> None:
    policy = BackoffPolicy(interval=100, jitter=0.1)
    assert policy.delay(0, 0.0) == pytest.approx(90)
    assert policy.delay(0, 0.5) == pytest.approx(100)
    assert policy.delay(0, 0.999999) == pytest.approx(110, abs=0.01)


def test_waits_grow_after_failures_and_reset_after_a_success() -> None:
    time = FakeTime()
    cycle = ScriptedCycle(
        time, {"journal": [Outcome.FAILED, Outcome.FAILED, Outcome.FAILED, Outcome.IN_SYNC]}
    )
    watcher = Watcher(
        ["journal"],
        cycle,
        BackoffPolicy(interval=10, max_backoff=1000, jitter=0.0),
        clock=time.clock,
        wait=time.wait,
    )
    _stop_after(watcher, cycle, turns=6)
    watcher.run()
    starts = [at for _, at in cycle.calls]
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert gaps == [20, 40, 80, 10, 10]
    assert watcher.failures("journal") == 0


def test_backoff_is_per_project() -> None:
    time = FakeTime()
    cycle = ScriptedCycle(time, {"bad": [Outcome.FAILED], "good": [Outcome.IN_SYNC]})
    watcher = Watcher(
        ["bad", "good"],
        cycle,
        BackoffPolicy(interval=10, max_backoff=1000, jitter=0.0),
        clock=time.clock,
        wait=time.wait,
    )
    _stop_after(watcher, cycle, turns=8)
    watcher.run()
    good = [at for p, at in cycle.calls if p == "good"]
    bad = [at for p, at in cycle.calls if p == "bad"]
    assert [b - a for a, b in zip(good, good[1:], strict=False)] == [10] * (len(good) - 1)
    assert [b - a for a, b in zip(bad, bad[1:], strict=False)] == [20, 40][: len(bad) - 1]
    assert watcher.failures("bad") == len(bad)


def test_busy_drift_and_healed_keep_the_normal_interval() -> None:
    time = FakeTime()
    cycle = ScriptedCycle(
        time, {"journal": [Outcome.BUSY, Outcome.DRIFT, Outcome.HEALED, Outcome.IN_SYNC]}
    )
    watcher = Watcher(
        ["journal"], cycle, BackoffPolicy(interval=10, jitter=0.0), clock=time.clock, wait=time.wait
    )
    _stop_after(watcher, cycle, turns=4)
    watcher.run()
    starts = [at for _, at in cycle.calls]
    assert [b - a for a, b in zip(starts, starts[1:], strict=False)] == [10, 10, 10]


def test_once_runs_each_project_one_time_without_waiting() -> None:
    time = FakeTime()
    cycle = ScriptedCycle(time, {"a": [Outcome.IN_SYNC], "b": [Outcome.DRIFT]})
    watcher = Watcher(
        ["a", "b"], cycle, BackoffPolicy(interval=10), clock=time.clock, wait=time.wait
    )
    reports = watcher.run(once=True)
    assert [(r.project, r.outcome) for r in reports] == [
        ("a", Outcome.IN_SYNC),
        ("b", Outcome.DRIFT),
    ]
    assert time.waits == []


def test_a_stop_request_lets_the_current_cycle_finish_and_skips_the_rest() -> None:
    time = FakeTime()
    finished: list[str] = []
    watcher: Watcher

    def cycle(project: str) -> CycleReport:
        watcher.request_stop()  # a SIGTERM arriving mid-cycle
        finished.append(project)
        return CycleReport(project, Outcome.IN_SYNC)

    watcher = Watcher(
        ["a", "b"], cycle, BackoffPolicy(interval=10), clock=time.clock, wait=time.wait
    )
    reports = watcher.run()
    assert finished == ["a"]
    assert [r.project for r in reports] == ["a"]


def test_the_default_wait_returns_as_soon_as_stop_is_requested() -> None:
    import threading
    import time as real_time

    calls: list[str] = []

    def cycle(project: str) -> CycleReport:
        calls.append(project)
        return CycleReport(project, Outcome.IN_SYNC)

    watcher = Watcher(["a"], cycle, BackoffPolicy(interval=3600))
    threading.Timer(0.2, watcher.request_stop).start()
    started = real_time.monotonic()
    watcher.run()
    assert real_time.monotonic() - started < 5
    assert calls == ["a"]


def test_on_report_gets_each_report_and_the_delay_until_the_next_turn() -> None:
    time = FakeTime()
    seen: list[tuple[str, Outcome, float]] = []
    cycle = ScriptedCycle(time, {"journal": [Outcome.FAILED]})
    watcher = Watcher(
        ["journal"],
        cycle,
        BackoffPolicy(interval=10, jitter=0.0),
        clock=time.clock,
        wait=time.wait,
        on_report=lambda r, d: seen.append((r.project, r.outcome, d)),
    )
    watcher.run(once=True)
    assert seen == [("journal", Outcome.FAILED, 20)]
