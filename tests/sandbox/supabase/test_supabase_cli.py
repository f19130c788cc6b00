"""The Supabase CLI (2.117.0) works against the emulator, pointed at it by a profile file."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from converge_sandbox.serving import ServedApp, serve_in_thread
from converge_sandbox.supabase.app import create_app
from converge_sandbox.world import SandboxWorld

from .clients import RequestLog, require_client, run_client
from .conftest import JOURNAL

pytestmark = [pytest.mark.conformance, pytest.mark.integration]
FIXTURES = Path(__file__).parent / "fixtures"
GITHUB_SECRET = "gh-secret-value"


@pytest.fixture
def logged(world: SandboxWorld) -> Iterator[tuple[ServedApp, RequestLog]]:
    log = RequestLog(create_app(world))
    with serve_in_thread(log) as served:
        yield served, log


@pytest.fixture
def cli_env(tmp_path: Path, world: SandboxWorld,
            logged: tuple[ServedApp, RequestLog]) -> dict[str, str]:
    """A throwaway HOME and a SUPABASE_PROFILE file that points the CLI at the emulator."""
    served, _ = logged
    home = tmp_path / "home"
    home.mkdir()
    profile = tmp_path / "profile.yaml"
    profile.write_text(
        f"name: sandbox\napi_url: {served.url}\ndashboard_url: {served.url}/dashboard\n"
        "project_host: supabase.test\n"
    )
    return {
        "HOME": str(home),
        "SUPABASE_PROFILE": str(profile),
        "SUPABASE_ACCESS_TOKEN": world.credentials.supabase_access_token,
        "SUPABASE_AUTH_EXTERNAL_GITHUB_SECRET": GITHUB_SECRET,
    }


def test_projects_api_keys_lists_the_project_keys(
    tmp_path: Path, cli_env: dict[str, str], world: SandboxWorld
) -> None:
    cli = require_client("supabase")
    result = run_client([str(cli), "projects", "api-keys", "--project-ref", JOURNAL,
                         "-o", "json"], cwd=tmp_path, env=cli_env)
    assert result.returncode == 0, result.stderr
    keys = {k["name"]: k["api_key"] for k in json.loads(result.stdout) if k["type"] == "legacy"}
    stored = {k["name"]: k["api_key"]
              for k in world.store.list("supabase", "api_key", prefix=f"{JOURNAL}/")}
    assert keys == {"anon": stored["anon"], "service_role": stored["service_role"]}


def test_config_push_twice_sends_auth_once(
    tmp_path: Path, cli_env: dict[str, str], world: SandboxWorld,
    logged: tuple[ServedApp, RequestLog],
) -> None:
    cli = require_client("supabase")
    _, log = logged
    project = tmp_path / "project"
    (project / "supabase").mkdir(parents=True)
    shutil.copy(FIXTURES / "config.toml", project / "supabase" / "config.toml")
    push = [str(cli), "config", "push", "--project-ref", JOURNAL, "--yes"]
    auth_patch = ("PATCH", f"/v1/projects/{JOURNAL}/config/auth", 200)

    first = run_client(push, cwd=project, env=cli_env)
    assert first.returncode == 0, first.stderr
    assert log.requests.count(auth_patch) == 1
    stored = world.store.get("supabase", "auth_config", JOURNAL)
    assert stored is not None
    assert stored["jwt_exp"] == 7200 and stored["password_min_length"] == 10
    assert stored["site_url"] == "https://journal.example.com"
    assert stored["external_github_enabled"] is True
    assert stored["external_github_secret"] == GITHUB_SECRET
    assert stored["mailer_autoconfirm"] is False  # enable_confirmations = true, negated

    log.requests.clear()
    second = run_client(push, cwd=project, env=cli_env)
    assert second.returncode == 0, second.stderr
    assert [r for r in log.requests if r[0] != "GET"] == []
    assert "Remote Auth config is up to date" in second.stdout + second.stderr
    remote = world.store.get("supabase", "auth_config", JOURNAL)
    assert remote == stored
