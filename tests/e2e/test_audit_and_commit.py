"""Each apply leaves one hash-chained line in reconciliation.log that ``audit verify``
checks, and ``apply --commit`` records the rendered artifacts in git."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.e2e.conftest import E2E

pytestmark = pytest.mark.integration

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "e2e",
    "GIT_AUTHOR_EMAIL": "e2e@example.invalid",
    "GIT_COMMITTER_NAME": "e2e",
    "GIT_COMMITTER_EMAIL": "e2e@example.invalid",
}


def audit_lines(e2e: E2E) -> list[bytes]:
    path = e2e.root / "reconciliation.log"
    return path.read_bytes().splitlines() if path.is_file() else []


def test_each_apply_appends_one_audit_line_that_verify_accepts(e2e: E2E) -> None:
    before = len(audit_lines(e2e))
    first = e2e.cli("apply", "journal")
    after_first = len(audit_lines(e2e))
    second = e2e.cli("apply", "journal")
    after_second = len(audit_lines(e2e))
    verify = e2e.cli("audit", "verify")

    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert (after_first, after_second) == (before + 1, before + 2)
    assert verify.exit_code == 0, verify.output
    assert f"reconciliation.log: {after_second} entries, chain intact" in verify.stdout


def test_audit_verify_exits_1_naming_the_line_a_person_edited(e2e: E2E) -> None:
    while sum(b'"succeeded"' in line for line in audit_lines(e2e)) < 2:
        assert e2e.cli("apply", "journal").exit_code == 0
    path = e2e.root / "reconciliation.log"
    original = path.read_bytes()
    lines = original.splitlines(keepends=True)
    first_run = next(n for n, line in enumerate(lines) if b'"succeeded"' in line)
    lines[first_run] = lines[first_run].replace(b'"succeeded"', b'"failed"', 1)
    path.write_bytes(b"".join(lines))
    try:
        verify = e2e.cli("audit", "verify")
    finally:
        path.write_bytes(original)

    assert verify.exit_code == 1, verify.output
    line = re.escape(f"reconciliation.log:{first_run + 1}: ")
    assert re.search(f"^{line}", verify.stdout, re.MULTILINE), verify.stdout
    assert e2e.cli("audit", "verify").exit_code == 0  # restored, the chain holds again


def test_apply_commit_commits_the_rendered_artifacts_with_a_dated_message(e2e: E2E) -> None:
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")

    def run_git(*args: str) -> str:
        done = subprocess.run(
            [git, "-C", str(e2e.root), *args],
            capture_output=True,
            text=True,
            check=True,
            env={**GIT_IDENTITY, "PATH": "/usr/bin:/bin"},
        )
        return done.stdout

    if not (e2e.root / ".git").exists():
        run_git("init", "--quiet")
    result = e2e.cli("apply", "journal", "--commit", env=GIT_IDENTITY)

    assert result.exit_code == 0, result.output
    subject = run_git("log", "-1", "--format=%s").strip()
    assert re.fullmatch(r"chore: Reconciled journal \d{8}-\d{6}", subject), subject
    committed = run_git("show", "--name-only", "--format=", "HEAD").split()
    assert committed and all(name.startswith(".out/journal/") for name in committed)
    assert ".out/journal/manifest.json" in committed
    assert run_git("status", "--porcelain", "--", ".out/journal") == ""
