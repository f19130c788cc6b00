"""``make reconcile PROJECT=journal WORKSPACE=…`` renders, runs the three reconcilers and
closes with the brief's line."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import REPO
from tests.e2e.conftest import E2E, base_env
from tests.e2e.test_brief_scripts import INFISICAL_LINES, SUPABASE_LINES, VERCEL_LINES

pytestmark = pytest.mark.integration


def test_make_reconcile_renders_runs_the_three_reconcilers_and_closes_with_the_briefs_line(
    e2e: E2E,
) -> None:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    if subprocess.run([make, "-q", ".venv/.installed"], cwd=REPO, check=False).returncode != 0:
        pytest.skip("the virtualenv is not set up (make would install packages)")

    done = subprocess.run(
        [make, "--no-print-directory", "reconcile", "PROJECT=journal", f"WORKSPACE={e2e.root}"],
        cwd=REPO,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "✅ All reconcilers completed for journal"
    for heading in (INFISICAL_LINES[0], VERCEL_LINES[0], SUPABASE_LINES[0], SUPABASE_LINES[-1]):
        assert heading in lines
