"""supabase-management-js (2.0.2) works against the emulator through its baseUrl option."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
from pathlib import Path

import jwt
import pytest

from converge_sandbox.serving import ServedApp
from converge_sandbox.world import SandboxWorld

from .clients import run_client
from .conftest import CLIENTS, JOURNAL

pytestmark = [pytest.mark.conformance, pytest.mark.integration]
SCRIPT = Path(__file__).parent / "js" / "management.cjs"


def test_management_js_reads_and_updates_auth_lists_keys_and_queries(
    served: ServedApp, world: SandboxWorld, tmp_path: Path
) -> None:
    node = shutil.which("node")
    if node is None or not (CLIENTS / "supabase-management-js").exists():
        pytest.skip("node or supabase-management-js is not installed")
    result = run_client(
        [node, str(SCRIPT)],
        cwd=tmp_path,
        env={
            "NODE_PATH": str(CLIENTS),
            "SANDBOX_URL": served.url,
            "SUPABASE_ACCESS_TOKEN": world.credentials.supabase_access_token,
            "PROJECT_REF": JOURNAL,
        },
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)

    assert JOURNAL in out["projectRefs"] and len(out["projectRefs"]) == 3
    assert (out["jwtExpBefore"], out["updateStatus"], out["jwtExpAfter"]) == (3600, 200, 1800)
    assert out["googleSecretRead"] == hmac.new(
        JOURNAL.encode(), b"google-secret", hashlib.sha256
    ).hexdigest()
    stored = world.store.get("supabase", "auth_config", JOURNAL)
    assert stored is not None
    assert (stored["jwt_exp"], stored["external_google_secret"]) == (1800, "google-secret")

    project = world.store.get("supabase", "project", JOURNAL)
    assert project is not None
    anon = next(k["api_key"] for k in out["keys"] if k["name"] == "anon")
    assert jwt.decode(anon, project["jwt_secret"], algorithms=["HS256"])["role"] == "anon"
    assert all(k["api_key"] is None for k in out["keys"] if k["type"] == "secret")

    assert out["queryStatus"] == 201
    assert out["rows"] == [{"label": "ideas"}, {"label": "travel"}, {"label": "work"}]
    assert out["queryError"]["status"] == 400
    assert "42P01" in out["queryError"]["message"]
    assert out["unauthorized"] == {
        "status": 401, "message": "[getAuthServiceConfig] failed: Unauthorized",
    }
