"""Over real loopback HTTP: apply the journal project, then the real Vercel CLI lists it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from converge.desired import DesiredVercel
from converge_sandbox.serving import serve_in_thread
from converge_sandbox.vercel import seed as vercel_seed
from converge_sandbox.vercel.app import create_app
from tests.vendors.vercel.conftest import Harness

VERCEL_BIN = (
    Path(__file__).resolve().parents[2] / "conformance" / "clients" / "node_modules" / ".bin"
    / "vercel"
)


def test_apply_over_loopback_is_idempotent_with_one_list_request(
    harness: Harness, journal: DesiredVercel
) -> None:
    with serve_in_thread(create_app(harness.world)) as served:
        harness.base_url = served.url
        harness.transport = None
        harness.apply(journal)
        rec = harness.reconciler(journal)
        rec.observe(markers=harness.markers)
        assert rec.diff() == ()
        assert harness.counter.total("vercel") == 1
        rec.close()
    assert len(harness.envs("journal-web")) == 4


@pytest.mark.conformance
@pytest.mark.skipif(not VERCEL_BIN.exists(), reason=f"Vercel CLI not installed at {VERCEL_BIN}")
def test_vercel_cli_env_ls_sees_the_applied_variables_with_their_targets(
    harness: Harness, journal: DesiredVercel, tmp_path: Path
) -> None:
    with serve_in_thread(create_app(harness.world)) as served:
        harness.base_url = served.url
        harness.apply(journal)
        project_dir = tmp_path / "project"
        (project_dir / ".vercel").mkdir(parents=True)
        (project_dir / ".vercel" / "project.json").write_text(json.dumps({
            "projectId": vercel_seed.project_id("journal-web"),
            "orgId": vercel_seed.team_id(),
        }))
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),
            "VERCEL_TELEMETRY_DISABLED": "1",
            "NO_UPDATE_NOTIFIER": "1",
            "CI": "1",
        }
        result = subprocess.run(
            [str(VERCEL_BIN), "--api", served.url, "--token",
             harness.world.credentials.vercel_token, "env", "ls"],
            cwd=project_dir, env=env, capture_output=True, text=True, timeout=60,
        )

    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    for variable in journal.variables:
        assert variable.key in rows
        assert "Production" in rows[variable.key]
    assert "https://api.journa" in rows["NEXT_PUBLIC_API_URL"]  # the CLI truncates values
    assert "Journal" in rows["NEXT_PUBLIC_APP_NAME"]
    for key in ("INFISICAL_CLIENT_ID", "INFISICAL_CLIENT_SECRET"):
        assert "Hidden" in rows[key] and "Sensitive" in rows[key]
    assert harness.resolver.values[
        "identity/token-service@journal-prod/client-secret"] not in result.stdout
