"""User policies run in a child process with a time limit, compiled once per command, and
regopy is loaded only when there are user policies (issue 8 items 8c and 8d).

Before: a rule looping over ``numbers.range(1, 100000000)`` made ``decide`` run until
killed, and ``decide`` aborted with SIGABRT ("Failed to initialise snmalloc") under any
``ulimit -v``, policies or not, because regopy's allocator reserves more than 64 GB of
address space when it is imported. Every project also compiled every policy again.
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from converge.config.workspace import open_workspace
from converge.engine.pipeline import decide_project
from converge.errors import ConfigErrors
from converge.policies import rego_engine
from tests.policies.helpers import report, write

SLOW = """
    package slow

    import rego.v1

    deny contains msg if {
      some n in numbers.range(1, 100000000)
      n < 0
      msg := "never"
    }
    """
# 4,000,000 KiB: plenty for converge, far below what regopy's allocator reserves.
SMALL_ULIMIT_KB = 4_000_000
CLI_DEADLINE_S = 90.0


def converge(workspace: Path, *args: str, ulimit_kb: int | None = None
             ) -> subprocess.CompletedProcess[str]:
    """Run the converge CLI in a child process (killed after CLI_DEADLINE_S seconds)."""
    argv = [sys.executable, "-m", "converge.cli.main", "--workspace", str(workspace), *args]
    if ulimit_kb is not None:
        argv = ["bash", "-c", f"ulimit -v {ulimit_kb} && exec {shlex.join(argv)}"]
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=CLI_DEADLINE_S)


def _set(workspace: Path, line: str) -> None:
    settings = workspace / "converge.yaml"
    settings.write_text(settings.read_text() + line + "\n")


def _drop_policies(workspace: Path) -> None:
    (workspace / "policies" / "owners.rego").unlink()
    (workspace / "policies").rmdir()
    settings = workspace / "converge.yaml"
    settings.write_text(settings.read_text().replace("policies: policies", "# no policies"))


def test_a_looping_policy_is_stopped_at_the_time_limit_naming_its_file(
    workspace: Path,
) -> None:
    write(workspace, "policies/slow.rego", SLOW)
    _set(workspace, "policy_timeout_seconds: 1")
    started = time.monotonic()
    result = converge(workspace, "decide", "journal")
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if "policies/slow.rego:5:1" in line]
    assert lines and "did not finish within 1 s" in lines[0], output
    assert elapsed < 30, elapsed


def test_the_time_limit_is_ten_seconds_unless_converge_yaml_says_otherwise(
    workspace: Path,
) -> None:
    assert open_workspace(workspace).settings.policy_timeout_seconds == 10
    _set(workspace, "policy_timeout_seconds: 0")
    with pytest.raises(ConfigErrors, match="policy_timeout_seconds"):
        open_workspace(workspace)


def test_decide_without_user_policies_works_under_a_small_ulimit(workspace: Path) -> None:
    _drop_policies(workspace)
    result = converge(workspace, "decide", "journal", ulimit_kb=SMALL_ULIMIT_KB)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "journal: allow" in result.stdout


def test_decide_with_user_policies_under_a_small_ulimit_says_why_in_one_sentence(
    workspace: Path,
) -> None:
    result = converge(workspace, "decide", "journal", ulimit_kb=SMALL_ULIMIT_KB)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output and "snmalloc" not in output
    assert (
        "the Rego engine could not start: it needs more virtual memory than `ulimit -v` "
        "allows (4.1 GB); raise the limit or remove policies/" in output
    ), output


def test_each_policy_is_compiled_once_per_command_not_once_per_project(
    workspace: Path,
) -> None:
    rego_engine.shutdown()
    before = rego_engine.STATS.copy()
    ws = open_workspace(workspace)
    for project in ws.project_names():
        decide_project(ws, project, today=dt.date(2026, 11, 26))
    assert rego_engine.STATS["starts"] - before["starts"] == 1
    assert rego_engine.STATS["compiles"] - before["compiles"] == 1
    assert rego_engine.STATS["inputs"] - before["inputs"] == len(ws.project_names())


def test_a_worker_that_died_between_projects_is_started_again(workspace: Path) -> None:
    first = report(workspace, "journal")
    engine = rego_engine.current()
    assert engine is not None
    engine.kill()
    second = report(workspace, "journal")
    assert first.results == second.results


def test_changed_policies_are_compiled_again(workspace: Path) -> None:
    report(workspace, "journal")
    write(workspace, "policies/extra.rego", """
        package extra

        import rego.v1

        warn contains "always" if { true }
        """)
    warned = [r for r in report(workspace, "journal").results if r.rule == "rego.extra.warn"]
    assert [(r.status.value, str(r.location)) for r in warned] == [
        ("warn", "policies/extra.rego:5:1")]


def test_parent_does_not_import_regopy(workspace: Path) -> None:
    """The CLI process never loads regopy: only the worker does, when policies exist."""
    code = (
        "import sys, datetime as dt; from pathlib import Path;"
        "from converge.config.workspace import open_workspace;"
        "from converge.engine.pipeline import decide_project;"
        "ws = open_workspace(Path(sys.argv[1]));"
        "decide_project(ws, 'journal', today=dt.date(2026, 11, 26));"
        "print('regopy' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code, str(workspace)], capture_output=True,
                          text=True, timeout=CLI_DEADLINE_S)
    assert done.stdout.strip() == "False", done.stderr
