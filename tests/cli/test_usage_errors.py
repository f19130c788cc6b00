"""Usage errors exit 64 with click's message (issue 9 item 2): exit 2 means only "changes"
or "drift", so a CI step that tests ``$? == 2`` never mistakes a typo for changes."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO, CliResult

USAGE_ERRORS = [
    (("plan",), "name at least one project, or pass --all"),
    (("plan", "journal", "--system", "nope"), "Invalid value for '--system'"),
    (("drift",), "name at least one project, or pass --all"),
    (("apply",), "name at least one project, or pass --all"),
    (("plan", "journal", "--bogus"), "No such option '--bogus'"),
    (("--bogus", "plan", "journal"), "No such option '--bogus'"),
    (("nope",), "No such command 'nope'"),
    (("apply", "journal", "--jobs", "0"), "Invalid value for '--jobs'"),
    (("status", "--limit", "x"), "Invalid value for '--limit'"),
    (("import",), "Missing argument 'PROJECT'"),
    (("audit", "reseal"), "Missing option '--reason'"),
    (("audit", "nope"), "No such command 'nope'"),
    (("sandbox", "serve", "--port-base", "x"), "Invalid value for '--port-base'"),
    (("watch", "journal", "--interval", "soon"), "Invalid value for '--interval'"),
    (("--output", "yaml", "validate"), "Invalid value for '--output'"),
    ((), "Usage: converge"),
]


@pytest.mark.parametrize(
    ("args", "message"), USAGE_ERRORS, ids=[" ".join(a) or "no-command" for a, _ in USAGE_ERRORS]
)
def test_usage_errors_exit_64_with_clicks_message(
    workspace: Path, run_cli: Callable[..., CliResult], args: tuple[str, ...], message: str
) -> None:
    result = run_cli("--workspace", str(workspace), *args)

    assert result.exit_code == 64, result.output
    assert message in result.output, result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("where", ["before", "after"])
def test_a_usage_error_in_json_mode_is_one_json_document_on_stdout(
    workspace: Path, run_cli: Callable[..., CliResult], where: str
) -> None:
    args = ["plan", "journal", "--system", "nope"]
    args = ["--output", "json", *args] if where == "before" else [*args, "--output", "json"]

    result = run_cli("--workspace", str(workspace), *args)

    assert result.exit_code == 64, result.output
    document = json.loads(result.stdout)
    assert document["format_version"] == 1
    assert document["command"] == "plan"
    assert document["ok"] is False
    assert document["error"]["exit_code"] == 64
    assert "Invalid value for '--system'" in document["error"]["message"]
    assert "Invalid value for '--system'" in result.stderr  # the human line stays


@pytest.mark.parametrize(
    "script", ["./scripts/reconcile-infisical.py", "./scripts/reconcile-vercel.sh"]
)
def test_the_briefs_scripts_exit_64_on_a_usage_error(script: str) -> None:
    done = subprocess.run([script], cwd=REPO, capture_output=True, text=True, timeout=60,
                          check=False)

    assert done.returncode == 64, done.stdout + done.stderr
    assert "usage:" in done.stderr
