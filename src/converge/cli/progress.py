"""Live progress on stderr while a command works, never on stdout.

``apply``, ``rollback`` and ``rollout`` report each operation as soon as its outcome is
journaled (``ApplyProgress``, an ``ApplyObserver``); ``plan`` and ``drift`` of several
projects report each project as it is done (``ProjectProgress``). How it shows is
``converge --progress`` (or ``$CONVERGE_PROGRESS``):

``auto``   (the default) a bar when stderr is a terminal (not ``TERM=dumb``), else lines
``bar``    rich's progress bar: one row per project (or one for the command), with the
           operation last done; lines printed meanwhile appear above it
``lines``  one line per step as it completes, flushed at once, for CI logs:
           ``[12/40] journal vercel create env NEXT_PUBLIC_X (production) (0.4 s)``
``off``    nothing

The count of an apply is the project's operations done over those planned so far: each
system is planned just before it is applied, so the total grows as the run reaches it.
Colour follows ``NO_COLOR`` (rich reads it). Stdout keeps the command's own output (the
brief's lines, or the one JSON document of ``--output json``).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import Progress as RichProgress

from converge.changes import Change
from converge.engine.plan import SystemPlan
from converge.engine.reconcile import SilentObserver
from converge.errors import ConvergeError
from converge.vendors.base import AppliedChange

PROGRESS_KEY = "progress"
MODES = ("auto", "bar", "lines", "off")


def resolve_mode(requested: str, stream: Any) -> str:
    """``bar``, ``lines`` or ``off`` for ``requested`` (``auto`` looks at ``stream``)."""
    if requested != "auto":
        return requested
    terminal = bool(getattr(stream, "isatty", lambda: False)())
    dumb = os.environ.get("TERM", "") in ("dumb", "unknown")
    return "bar" if terminal and not dumb else "lines"


class Progress:
    """The command's progress display; safe to call from the threads of ``--jobs``.

    A step belongs to a task (a project, or the command): ``task`` opens it, ``grow``
    adds to its total, ``step`` reports one step done (a line, or the bar advancing)."""

    def __init__(self, mode: str) -> None:
        self.mode = resolve_mode(mode, sys.stderr)
        self._lock = threading.Lock()
        self._counts: dict[str, list[int]] = {}  # task -> [done, total]
        self._tasks: dict[str, TaskID] = {}
        self._bar: RichProgress | None = None

    def __enter__(self) -> Progress:
        if self.mode == "bar":
            console = Console(file=sys.stderr, force_terminal=True)
            self._bar = RichProgress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[last]}"),
                console=console,
                # Lines printed on the same terminal go above the bar, not through it.
                redirect_stdout=sys.stdout.isatty(),
                redirect_stderr=True,
            )
            self._bar.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def task(self, key: str, description: str, total: int | None = None) -> None:
        """Open the task ``key`` (again: nothing)."""
        with self._lock:
            if key in self._counts:
                return
            self._counts[key] = [0, total or 0]
            if self._bar is not None:
                self._tasks[key] = self._bar.add_task(description, total=total, last="")

    def grow(self, key: str, more: int) -> None:
        """``more`` steps planned for ``key``."""
        with self._lock:
            counts = self._counts[key]
            counts[1] += more
            if self._bar is not None:
                self._bar.update(self._tasks[key], total=counts[1])

    def step(
        self, key: str, text: str, seconds: float | None = None, *, last: str | None = None
    ) -> None:
        """One step of ``key`` done: the line ``[n/total] text (seconds)``, or the bar
        advanced with ``last`` (default ``text``) beside it."""
        with self._lock:
            counts = self._counts[key]
            counts[0] += 1
            counts[1] = max(counts)
            took = f" ({seconds:.1f} s)" if seconds is not None else ""
            if self._bar is not None:
                self._bar.update(self._tasks[key], completed=counts[0], total=counts[1],
                                 last=text if last is None else last)
            elif self.mode == "lines":
                _write_line(f"[{counts[0]}/{counts[1]}] {text}{took}")

    def note(self, text: str) -> None:
        """A line outside any count (credentials revoked at the end of a run)."""
        with self._lock:
            if self._bar is not None:
                self._bar.console.print(text, markup=False, highlight=False)
            elif self.mode == "lines":
                _write_line(text)


def _write_line(line: str) -> None:
    stream = sys.stderr
    stream.write(line + "\n")
    stream.flush()


def _mode(ctx: click.Context) -> str:
    return str(ctx.find_root().ensure_object(dict).get(PROGRESS_KEY) or "auto")


@contextmanager
def command_progress(ctx: click.Context) -> Iterator[Progress]:
    """The command's ``Progress`` (mode from ``converge --progress``), shown until the
    block ends."""
    with Progress(_mode(ctx)) as progress:
        yield progress


def describe(change: Change) -> str:
    """``vercel create env NEXT_PUBLIC_X (production)``: one operation, for a line."""
    label = change.label or change.name
    if not label.startswith(f"{change.kind} "):  # "auth journalprodqzvtkwmrx" names it
        label = f"{change.kind} {label}"
    return f"{change.system} {change.action.value} {label}"


class ApplyProgress(SilentObserver):
    """Each operation of an apply as it completes, per project: ``[3/9] journal
    infisical create role runtime (prod) (0.2 s)``, the time since the project's
    previous step (or since its system was planned)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self._since: dict[str, float] = {}

    def _elapsed(self, project: str) -> float:
        now = time.monotonic()
        elapsed = now - self._since.get(project, now)
        self._since[project] = now
        return elapsed

    def system_planned(self, project: str, plan: SystemPlan) -> None:
        self.progress.task(project, project)
        self.progress.grow(project, len(plan.changes))
        self._since[project] = time.monotonic()

    def change_applied(self, project: str, change: Change, applied: AppliedChange) -> None:
        what = describe(change)
        self.progress.step(project, f"{project} {what}", self._elapsed(project), last=what)

    def change_failed(self, project: str, change: Change, error: ConvergeError) -> None:
        what = f"{describe(change)} failed"
        self.progress.step(project, f"{project} {what}", self._elapsed(project), last=what)

    def credentials_revoked(self, project: str, revoked: Sequence[str]) -> None:
        for line in revoked:
            self.progress.note(f"{project} revoked {line}")


class FanOut(SilentObserver):
    """Several observers heard as one (the brief's lines and the progress)."""

    def __init__(self, *observers: SilentObserver) -> None:
        self.observers = observers

    def system_planned(self, project: str, plan: SystemPlan) -> None:
        for observer in self.observers:
            observer.system_planned(project, plan)

    def change_applied(self, project: str, change: Change, applied: AppliedChange) -> None:
        for observer in self.observers:
            observer.change_applied(project, change, applied)

    def change_failed(self, project: str, change: Change, error: ConvergeError) -> None:
        for observer in self.observers:
            observer.change_failed(project, change, error)

    def system_applied(self, project: str, system: str, summary: Mapping[str, Any]) -> None:
        for observer in self.observers:
            observer.system_applied(project, system, summary)

    def credentials_revoked(self, project: str, revoked: Sequence[str]) -> None:
        for observer in self.observers:
            observer.credentials_revoked(project, revoked)


class ProjectProgress:
    """``plan`` and ``drift`` of several projects: one step per project as it is done,
    ``[2/5] journal: 3 changes (1.2 s)``. Silent for a single project (its report
    follows at once)."""

    def __init__(self, progress: Progress, verb: str, names: Sequence[str]) -> None:
        self.progress = progress
        self.verb = verb
        self.enabled = len(names) > 1
        self._since: dict[str, float] = {}
        if self.enabled:
            progress.task(verb, verb, total=len(names))

    def started(self, name: str) -> None:
        self._since[name] = time.monotonic()

    def finished(self, name: str, summary: str) -> None:
        if not self.enabled:
            return
        took = time.monotonic() - self._since.get(name, time.monotonic())
        self.progress.step(self.verb, f"{name}: {summary}", took)


@contextmanager
def project_progress(
    ctx: click.Context, verb: str, names: Sequence[str]
) -> Iterator[ProjectProgress]:
    """``ProjectProgress`` for the command's projects, shown until the block ends."""
    with Progress(_mode(ctx) if len(names) > 1 else "off") as progress:
        yield ProjectProgress(progress, verb, names)
