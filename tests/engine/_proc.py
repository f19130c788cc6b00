"""Start ``tests.engine.worker`` in a child process and wait for its ``ready`` line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def start_worker(*args: str, state: str = "") -> subprocess.Popen[str]:
    env = dict(os.environ, CONVERGE_TEST_STATE=state or ".converge/state.db")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "src"),
                                         env.get("PYTHONPATH", "")])
    return subprocess.Popen([sys.executable, "-m", "tests.engine.worker", *args], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def wait_ready(proc: subprocess.Popen[str], timeout: float = 30.0) -> list[str]:
    """The words after ``ready``; fails with the child's stderr if it died first."""
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("ready"):
        proc.kill()
        _, err = proc.communicate(timeout=timeout)
        raise AssertionError(f"worker failed: {err[-2000:]}")
    return line.split()[1:]


def kill_hard(proc: subprocess.Popen[str]) -> None:
    """SIGKILL, as a crash would; reap it so its pid is really gone."""
    proc.kill()
    proc.communicate(timeout=10)
