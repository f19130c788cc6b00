"""Secret values never leak: a distinctive canary planted as an Infisical secret, and the
client secret apply mints, reach the vendors that need them and appear nowhere else:
not in any command's output, the audit log, the journal, the sandbox request log or the
rendered artifacts."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from tests.conftest import CliResult
from tests.e2e.conftest import E2E, JOURNAL_SUPABASE_REF

pytestmark = pytest.mark.integration

CANARY = "canary-" + secrets.token_hex(16)


def plant_canary(e2e: E2E) -> None:
    """Set /auth/GITHUB_OAUTH_SECRET through Infisical's API, like a person would."""
    response = e2e.infisical(
        "PATCH",
        "/api/v3/secrets/raw/GITHUB_OAUTH_SECRET",
        json={
            "workspaceId": e2e.infisical_project_id("journal"),
            "environment": "prod",
            "secretPath": "/auth",
            "secretValue": CANARY,
        },
    )
    assert response.status_code == 200, response.status_code


def places_to_search(e2e: E2E) -> dict[str, bytes]:
    """Everything converge wrote or had the sandbox log, by name."""
    found: dict[str, bytes] = {}
    converge_dir = e2e.root / ".converge"
    for path in [e2e.root / "reconciliation.log", *converge_dir.glob("state.db*")]:
        found[str(path.relative_to(e2e.root))] = path.read_bytes()
    found["sandbox request log"] = e2e.request_log_file().read_bytes()
    for path in (e2e.root / ".out").rglob("*"):
        if path.is_file():
            found[str(path.relative_to(e2e.root))] = path.read_bytes()
    return found


def assert_absent(value: str, outputs: dict[str, CliResult], files: dict[str, bytes]) -> None:
    for name, result in outputs.items():
        assert value not in result.output, f"secret value in the output of {name}"
    for name, data in files.items():
        assert value.encode() not in data, f"secret value in {name}"


def test_secret_values_reach_the_vendors_but_no_output_log_journal_or_artifact(
    e2e: E2E,
) -> None:
    plant_canary(e2e)

    outputs = {
        "plan": e2e.cli("plan", "journal"),
        "apply": e2e.cli("apply", "journal"),
        "status": e2e.cli("status", "journal"),
        "plan after apply": e2e.cli("plan", "journal"),
        "json plan": e2e.cli("plan", "journal", "--output", "json"),
    }
    minted = e2e.vercel_value("journal-web", "INFISICAL_CLIENT_SECRET")
    files = places_to_search(e2e)

    assert outputs["apply"].exit_code == 0, outputs["apply"].output
    auth = e2e.sandbox.world.store.get("supabase", "auth_config", JOURNAL_SUPABASE_REF)
    assert auth is not None and auth["external_github_secret"] == CANARY  # it did flow
    assert len(minted) >= 16
    assert {"reconciliation.log", ".converge/state.db", "sandbox request log"} <= set(files)
    assert any(Path(name).parts[0] == ".out" for name in files)
    # Positive control: the emulators' own store holds the value, and a byte search of
    # SQLite files finds it there, so finding it nowhere above means something.
    sandbox_store = b"".join(p.read_bytes() for p in e2e.state_dir.glob("state.db*"))
    assert CANARY.encode() in sandbox_store
    assert_absent(CANARY, outputs, files)
    assert_absent(minted, outputs, files)
