"""State that does not depend on the runner (issue 9, item 1): what converge needs to
recognise its own objects and compare sensitive values lives at the vendors (ownership
markers, keyed fingerprints with the id of the key that wrote them) and in the committed
artifacts, not in the local journal.

One sandbox serves two clones of one git repository, both as ``--target live`` (the way
CI reaches real vendors): clone A applies every example project; clone B, a fresh
``git clone`` with no ``.converge/`` at all, plans no change with the team's key, reports
every sensitive value as unverifiable under another key and then writes nothing, and in
CI refuses to run without a key (exit 4) instead of inventing one.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from converge.engine.fingerprint import MISSING_IN_CI, key_id
from converge.vendors.vercel.ownership import parse_comment
from tests.e2e.conftest import E2E, run_in_process

pytestmark = pytest.mark.integration

E2E_PROJECTS = ("journal", "analytics", "auth-service")
TEAM_KEY = secrets.token_hex(32)
OTHER_KEY = secrets.token_hex(32)
GIT_ENV = {
    "GIT_AUTHOR_NAME": "e2e",
    "GIT_AUTHOR_EMAIL": "e2e@example.invalid",
    "GIT_COMMITTER_NAME": "e2e",
    "GIT_COMMITTER_EMAIL": "e2e@example.invalid",
    "PATH": "/usr/bin:/bin",
}
VERCEL_PROJECTS = {"journal": "journal-web", "analytics": "analytics-dashboard"}


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True,
                          text=True, check=True)
    return done.stdout


def changed_lines(output: str) -> list[str]:
    """The plan's change lines (``+``, ``~``, ``-``, ``!`` and adopt markers)."""
    return [line for line in output.splitlines() if re.match(r"^  [+~\-!&] ", line)]


def sensitive_records(e2e: E2E) -> list[tuple[str, str, tuple[str, ...]]]:
    """(Vercel project, key, targets) of every value converge wrote that Vercel hides."""
    found = []
    for vproject in VERCEL_PROJECTS.values():
        for env in e2e.vercel_envs(vproject):
            if env["type"] != "plain" and parse_comment(env.get("comment"))[1] is not None:
                found.append((vproject, env["key"], tuple(sorted(env["target"]))))
    return found


@pytest.fixture(scope="module")
def clones(e2e: E2E, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Clone A (the fixture's workspace, made a git repository and applied with the team's
    key) and clone B (a fresh ``git clone`` of it: no ``.converge/``, no journal)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    a = e2e.root
    (a / ".gitignore").write_text(".converge/\n", encoding="utf-8")
    git("init", "--quiet", cwd=a)
    for project in E2E_PROJECTS:
        applied = run_in_process(a, "apply", project, "--target", "live",
                                 env=e2e.live_env(CONVERGE_FINGERPRINT_KEY=TEAM_KEY, CI="true"))
        assert applied.exit_code == 0, applied.output
    git("add", "-A", cwd=a)
    git("commit", "--quiet", "-m", "applied", cwd=a)
    b = tmp_path_factory.mktemp("clone") / "b"
    git("clone", "--quiet", str(a), str(b), cwd=a.parent)
    assert not (b / ".converge").exists()
    assert (b / ".out" / "journal" / "manifest.json").is_file()  # committed artifacts
    return a, b


def test_a_fresh_clone_with_the_team_key_plans_no_change_then_another_key_changes_nothing(
    e2e: E2E, clones: tuple[Path, Path]
) -> None:
    _, b = clones
    team = e2e.live_env(CONVERGE_FINGERPRINT_KEY=TEAM_KEY, CI="true")
    other = e2e.live_env(CONVERGE_FINGERPRINT_KEY=OTHER_KEY, CI="true")
    records = sensitive_records(e2e)
    assert len(records) >= 6  # client ids and secrets of journal and analytics

    same_key = run_in_process(b, "plan", "--all", "--target", "live", env=team)

    assert same_key.exit_code == 0, same_key.output
    assert changed_lines(same_key.stdout) == []
    assert same_key.stdout.count("No changes.") == len(E2E_PROJECTS)
    assert "fingerprint key differs" not in same_key.stdout
    drift = run_in_process(b, "drift", "--all", "--target", "live", env=team)
    assert drift.exit_code == 0, drift.output  # the scheduled drift job finds nothing

    log = e2e.sandbox.request_log
    log.reset()
    another_key = run_in_process(b, "plan", "--all", "--target", "live", env=other)

    assert another_key.exit_code in (0, 2), another_key.output
    assert changed_lines(another_key.stdout) == []
    reason = (f"unverifiable (fingerprint key differs): written with fingerprint key id "
              f"{key_id(bytes.fromhex(TEAM_KEY))}, this run has "
              f"{key_id(bytes.fromhex(OTHER_KEY))}; set CONVERGE_FINGERPRINT_KEY")
    for _, key, targets in records:
        assert f"  ? {key} ({', '.join(targets)}): {reason}" in another_key.stdout, key
    assert log.write_count() == 0
    drift = run_in_process(b, "drift", "--all", "--target", "live", env=other)
    assert drift.exit_code == 0, drift.output  # unverifiable is not drift

    applied = run_in_process(b, "apply", "--all", "--target", "live", env=other)

    assert applied.exit_code == 0, applied.output
    assert [(w.vendor, w.method, w.path) for w in log.writes()] == []
    assert log.write_count() == 0
    assert log.count("infisical", "POST", "/api/v1/auth/universal-auth/identities") == 0
    assert sensitive_records(e2e) == records

    again = run_in_process(b, "apply", "--all", "--target", "live", env=team)
    assert again.exit_code == 0, again.output
    assert [(w.vendor, w.method, w.path) for w in log.writes()] == []


def test_in_ci_a_clone_without_the_key_stops_with_exit_4_before_any_request(
    e2e: E2E, clones: tuple[Path, Path]
) -> None:
    _, b = clones
    log = e2e.sandbox.request_log
    log.reset()

    for command in (("plan", "--all"), ("apply", "journal"), ("drift", "journal")):
        result = run_in_process(b, *command, "--target", "live", env=e2e.live_env(CI="true"))

        assert result.exit_code == 4, result.output
        assert MISSING_IN_CI in result.output
    assert log.count() == 0
    assert not (b / ".converge" / "fingerprint.key").exists()

    health = run_in_process(b, "health", "journal", "--target", "live",
                            env=e2e.live_env(CI="true"))
    assert health.exit_code == 0, health.output  # compares no sensitive value: no key needed
