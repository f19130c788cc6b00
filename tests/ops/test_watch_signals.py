"""``converge watch`` as a real process: SIGTERM in the middle of a heal lets the heal
finish, releases the lock, stops the sandbox it started (PostgreSQL included) and exits 0;
/metrics and /healthz answer over loopback HTTP while it runs."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from converge.engine.journal import open_journal
from converge.engine.locks import read_lock_holder
from converge.util.processes import pid_alive, process_start_marker
from converge_sandbox.registry import PG_DIR, read_running, state_dir_for
from tests.e2e.conftest import base_env, copy_workspace, prepare_projects

# Runs the real entry point with `watch` registered (until cli/main.py registers it).
WATCH_MAIN = (
    "from converge.cli.main import cli, main\n"
    "from converge.cli.ops_watch import watch\n"
    "if 'watch' not in cli.commands:\n"
    "    cli.add_command(watch)\n"
    "main()\n"
)
DEADLINE_S = 60.0


def descendants(pid: int) -> dict[int, str | None]:
    """Every live process below ``pid`` (with its start marker, to tell pid reuse)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        parents[int(entry.name)] = int(fields[1])
    found: dict[int, str | None] = {}
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        for child, parent in parents.items():
            if parent == current and child not in found:
                found[child] = process_start_marker(child)
                frontier.append(child)
    return found


def postmasters(root: Path) -> dict[int, str | None]:
    """The PostgreSQL server of the workspace's sandbox (a daemon: not our child). Its
    cluster is under ``.converge/pg`` or where ``pg/postgres.json`` points."""
    pg_dir = state_dir_for(root) / PG_DIR
    dirs = [pg_dir, *pg_dir.glob("*"), *pg_dir.glob("*/*")]
    try:
        home = Path(json.loads((pg_dir / "postgres.json").read_text())["home"])
        dirs += [home, *home.glob("*")]
    except (OSError, ValueError, KeyError):
        pass
    found: dict[int, str | None] = {}
    for directory in dirs:
        try:
            pid = int((directory / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
        found[pid] = process_start_marker(pid)
    return found


def read_lines(stream: subprocess.Popen[str], sink: queue.Queue[str]) -> None:
    assert stream.stdout is not None
    for line in stream.stdout:
        sink.put(line.rstrip("\n"))


def wait_for(predicate: object, what: str) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def watch_workspace(tmp_path: Path) -> Path:
    """journal decided and rendered, never applied, no sandbox running for it."""
    root = copy_workspace(tmp_path / "ws")
    prepare_projects(root, ("journal",))
    return root


def test_sigterm_mid_heal_finishes_the_heal_releases_the_lock_and_exits_0(
    watch_workspace: Path,
) -> None:
    root = watch_workspace
    state_dir = root / ".converge"
    env = base_env(CONVERGE_SANDBOX_FAULTS="latency=40ms,seed=1", CONVERGE_SANDBOX_RATE_LIMITS="")
    proc = subprocess.Popen(
        [sys.executable, "-c", WATCH_MAIN, "--workspace", str(root), "watch", "journal",
         "--interval", "1s", "--heal", "--metrics-port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=read_lines, args=(proc, lines), daemon=True).start()
    seen: list[str] = []
    try:
        url = ""
        while not url:
            line = lines.get(timeout=DEADLINE_S)
            seen.append(line)
            match = re.search(r"serving metrics on (http://127\.0\.0\.1:\d+)/metrics", line)
            url = match.group(1) if match else ""
        assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200

        # The first cycle finds journal missing everywhere and heals it: SIGTERM then.
        def healing() -> bool:
            holder = read_lock_holder(state_dir, "journal")
            return holder is not None and holder.command == "apply"

        wait_for(healing, "the heal to hold the lock")
        postmasters_at_signal = postmasters(root)
        children = descendants(proc.pid) | postmasters_at_signal
        scraped = httpx.get(f"{url}/metrics", timeout=10)
        assert scraped.status_code == 200
        assert list(text_string_to_metric_families(scraped.text))
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=DEADLINE_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    time.sleep(0.1)
    while not lines.empty():
        seen.append(lines.get())
    output = "\n".join(seen)

    assert code == 0, output
    assert "journal: healed" in output and output.rstrip().endswith("stopped"), output
    assert read_lock_holder(state_dir, "journal") is None
    with open_journal(".converge/state.db", root) as journal:
        [run] = journal.last_runs("journal", 10)
    assert (run.command, run.result) == ("apply", "succeeded")
    assert postmasters_at_signal, "the watch started no PostgreSQL for its sandbox"
    stray = [pid for pid, marker in children.items() if pid_alive(pid, marker)]
    assert stray == [], f"processes left running: {stray}"
    assert read_running(state_dir_for(root)) is None
    assert not os.path.exists(f"/proc/{proc.pid}")
