"""Live progress (issue 9 item 3): ``apply`` reports each operation on stderr as soon as it
is done, and streams the brief's lines on stdout as the changes are applied, so a run
killed part-way has already shown what it did; ``--output json`` keeps stdout to its one
document; on a terminal, rich draws the bar.

The sandbox answers slowly (``E2E_FAULTS``), so an apply of the journal project takes
seconds: long enough to see its first lines while it still runs.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import selectors
import signal
import struct
import subprocess
import termios
import time

import pytest

from tests.e2e.conftest import CONVERGE, E2E, base_env

pytestmark = pytest.mark.integration

E2E_FAULTS = "latency=100ms"
OPERATION = re.compile(r"\[(\d+)/(\d+)\] journal (infisical|vercel|supabase) \S+ .+ \(\d+\.\d s\)")


def converge_args(e2e: E2E, *args: str) -> list[str]:
    return [str(CONVERGE), "--workspace", str(e2e.root), *args]


def undo_apply(e2e: E2E) -> None:
    """Make the next apply write again: remove the Vercel variables it made (the e2e
    helpers delete them out of band)."""
    for record in e2e.vercel_envs("journal-web"):
        if str(record["key"]).startswith(("NEXT_PUBLIC_", "INFISICAL_")):
            e2e.vercel_delete_env("journal-web", str(record["id"]))


def test_json_stdout_holds_the_document_alone_and_progress_goes_to_stderr(e2e: E2E) -> None:
    done = subprocess.run(
        converge_args(e2e, "apply", "journal", "--output", "json"),
        env=base_env(CONVERGE_PROGRESS="lines"),
        capture_output=True, text=True, timeout=300, check=False,
    )

    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)  # one document, nothing around it
    assert document["command"] == "apply" and document["ok"] is True
    lines = [line for line in done.stderr.splitlines() if OPERATION.fullmatch(line)]
    assert lines, done.stderr
    counts = [int(OPERATION.fullmatch(line)[1]) for line in lines]  # type: ignore[index]
    assert counts == list(range(1, len(lines) + 1))


def test_plan_of_several_projects_reports_each_project_on_stderr(e2e: E2E) -> None:
    done = subprocess.run(
        converge_args(e2e, "plan", "journal", "analytics", "--output", "json"),
        env=base_env(CONVERGE_PROGRESS="lines"),
        capture_output=True, text=True, timeout=300, check=False,
    )

    assert done.returncode == 1, done.stderr  # analytics was never decided
    json.loads(done.stdout)
    assert re.search(r"^\[1/2\] journal: (no change|\d+ changes?) \(\d+\.\d s\)$", done.stderr,
                     re.M), done.stderr
    assert re.search(r"^\[2/2\] analytics: failed \(\d+\.\d s\)$", done.stderr, re.M)


def read_until(proc: subprocess.Popen[bytes], pattern: re.Pattern[str], deadline: float) -> str:
    """stderr of ``proc`` up to the first line matching ``pattern`` (or the deadline)."""
    assert proc.stderr is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stderr, selectors.EVENT_READ)
    seen = b""
    while time.monotonic() < deadline:
        if not selector.select(timeout=0.2):
            continue
        chunk = os.read(proc.stderr.fileno(), 4096)
        if not chunk:
            break
        seen += chunk
        text = seen.decode(errors="replace")
        if any(pattern.fullmatch(line) for line in text.splitlines()):
            return text
    return seen.decode(errors="replace")


def test_a_run_killed_part_way_has_shown_its_first_operations(e2e: E2E) -> None:
    undo_apply(e2e)
    proc = subprocess.Popen(
        converge_args(e2e, "apply", "journal", "--system", "vercel", "--system", "supabase"),
        env=base_env(CONVERGE_PROGRESS="lines"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        stderr = read_until(proc, OPERATION, time.monotonic() + 120)
        still_running = proc.poll() is None
    finally:
        proc.send_signal(signal.SIGKILL)
        stdout, rest = proc.communicate(timeout=60)

    assert any(OPERATION.fullmatch(line) for line in stderr.splitlines()), stderr + rest.decode()
    assert still_running, "the first operation line came only when the run had ended"
    printed = stdout.decode()
    # The brief's lines of what was applied were out before the kill.
    assert "🔄 Reconciling Vercel environment for project: journal" in printed
    assert "✅ Supabase reconciliation complete for project: journal" not in printed


def test_on_a_terminal_rich_draws_the_bar(e2e: E2E) -> None:
    undo_apply(e2e)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    env = base_env(TERM="xterm-256color", PYTHONIOENCODING="utf-8", CONVERGE_PROGRESS="auto")
    proc = subprocess.Popen(
        converge_args(e2e, "apply", "journal", "--system", "vercel"),
        env=env, stdin=slave, stdout=slave, stderr=slave, close_fds=True,
    )
    os.close(slave)
    output = b""
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)

    text = output.decode(errors="replace")
    assert code == 0, text
    assert "━" in text, text  # rich's bar
    assert not OPERATION.search(text), "a terminal gets the bar, not the CI lines"
    # The brief's lines still show, above the bar.
    assert "🔄 Reconciling Vercel environment for project: journal" in text
    assert "✅ Vercel environment reconciliation complete!" in text
