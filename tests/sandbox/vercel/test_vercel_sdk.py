"""The official ``@vercel/sdk`` (1.28.35) drives the emulator and validates every answer.

``js/sdk_env_roundtrip.mjs`` lists, creates (array, upsert), edits, reads, deletes and
batch-deletes env vars through the SDK with ``serverURL`` pointed at the emulator, and
fails if any response needed the SDK's lenient coercions. This test then checks the
emulator's end state.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from converge_sandbox.serving import serve_in_thread
from converge_sandbox.vercel import seed as vercel_seed
from converge_sandbox.vercel.app import create_app
from converge_sandbox.world import SandboxWorld
from tests.sandbox.vercel.conftest import stored_envs

CLIENTS = Path(__file__).resolve().parents[2] / "conformance" / "clients" / "node_modules"
SDK_DIR = CLIENTS / "@vercel" / "sdk"
SCRIPT = Path(__file__).parent / "js" / "sdk_env_roundtrip.mjs"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.conformance,
    pytest.mark.skipif(
        not SDK_DIR.exists(),
        reason=f"@vercel/sdk not installed at {SDK_DIR} (run `make test` to install it)",
    ),
    pytest.mark.skipif(NODE is None, reason="node is not on PATH"),
]


def run_roundtrip(world: SandboxWorld, project: str) -> dict[str, Any]:
    with serve_in_thread(create_app(world)) as served:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "NODE_PATH": str(CLIENTS),
            "VERCEL_SDK_DIR": str(SDK_DIR),
            "SERVER_URL": served.url,
            "VERCEL_TOKEN": world.credentials.vercel_token,
            "TEAM_ID": vercel_seed.team_id(),
            "PROJECT_ID": vercel_seed.project_id(project),
        }
        assert NODE is not None
        result = subprocess.run(
            [NODE, str(SCRIPT)], env=env, cwd=CLIENTS.parent, capture_output=True,
            text=True, timeout=60,
        )
    assert result.returncode == 0, f"SDK round trip failed:\n{result.stderr}"
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def test_sdk_round_trip_validates_and_leaves_the_expected_state() -> None:
    world = SandboxWorld.in_memory()
    vercel_seed.seed(world)

    out = run_roundtrip(world, "analytics-dashboard")

    assert out["project"] == {
        "id": vercel_seed.project_id("analytics-dashboard"),
        "name": "analytics-dashboard",
        "accountId": vercel_seed.team_id(),
    }
    assert out["keysBefore"] == [vercel_seed.UNMANAGED_ENV_KEY]
    assert [c["key"] for c in out["created"]] == ["SDK_ENC", "SDK_SENS", "SDK_PLAIN"]
    assert out["failedOnCreate"] == 0
    enc_id = out["created"][0]["id"]
    assert out["upsertedId"] == enc_id
    assert out["duplicate"] == {"status": 403, "code": "ENV_ALREADY_EXISTS"}
    assert out["edited"]["value"] == "plain-2"
    assert out["getEncrypted"] == {"value": "enc-2", "decrypted": True}
    assert out["getSensitive"] == {"hasValue": False, "decrypted": False}
    assert out["listedValues"]["SDK_PLAIN"] == "plain-2"
    assert out["listedValues"]["SDK_ENC"] != "enc-2"
    assert out["listedValues"]["SDK_SENS"] != "sens-1"

    remaining = {e["key"]: e for e in stored_envs(world, "analytics-dashboard")}
    assert set(remaining) == {vercel_seed.UNMANAGED_ENV_KEY, "SDK_ENC"}
    assert remaining["SDK_ENC"]["id"] == enc_id
    assert remaining["SDK_ENC"]["value"] == "enc-2"
    assert sorted(remaining["SDK_ENC"]["target"]) == ["preview", "production"]


LIST_SCRIPT = Path(__file__).parent / "js" / "sdk_projects_list.mjs"


def test_sdk_get_projects_pages_through_the_teams_projects() -> None:
    world = SandboxWorld.in_memory()
    vercel_seed.seed(world)
    with serve_in_thread(create_app(world)) as served:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "VERCEL_SDK_DIR": str(SDK_DIR),
            "SERVER_URL": served.url,
            "VERCEL_TOKEN": world.credentials.vercel_token,
            "TEAM_ID": vercel_seed.team_id(),
            "TEAM_SLUG": vercel_seed.TEAM_SLUG,
        }
        assert NODE is not None
        result = subprocess.run(
            [NODE, str(LIST_SCRIPT)], env=env, cwd=CLIENTS.parent, capture_output=True,
            text=True, timeout=60,
        )
    assert result.returncode == 0, f"getProjects failed:\n{result.stderr}"
    out = json.loads(result.stdout)

    # Most recently updated first, one per page, `next` given back as `from`.
    assert [page["names"] for page in out["pages"]] == [
        ["analytics-dashboard"], ["journal-web"]
    ]
    first, last = (page["pagination"] for page in out["pages"])
    assert first["count"] == 1 and first["prev"] is None and isinstance(first["next"], int)
    assert last["next"] is None and last["prev"] == first["next"] - 1000  # `since` goes back
    assert out["bySlug"] == ["analytics-dashboard", "journal-web"]
    assert out["overLimit"] == {"status": 400, "code": "bad_request"}
