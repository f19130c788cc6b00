"""The Supabase CLI (2.117.0) works against the emulator, pointed at it by a profile file:
api keys, config push, organizations and project creation, network restrictions, SSL
enforcement and the Postgres config."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from converge_sandbox.serving import ServedApp, serve_in_thread
from converge_sandbox.supabase.app import create_app
from converge_sandbox.world import SandboxWorld

from .clients import RequestLog, require_client, run_client
from .conftest import AUTH_EU, JOURNAL

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


def _cli_json(args: list[str], *, cwd: Path, env: dict[str, str]) -> Any:
    cli = require_client("supabase")
    result = run_client([str(cli), *args, "-o", "json"], cwd=cwd, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_orgs_list_and_projects_create(
    tmp_path: Path, cli_env: dict[str, str], logged: tuple[ServedApp, RequestLog]
) -> None:
    _, log = logged
    orgs = _cli_json(["orgs", "list"], cwd=tmp_path, env=cli_env)
    assert [org["slug"] for org in orgs] == ["acme"]
    created = _cli_json(["projects", "create", "cli-made", "--org-id", "acme",
                         "--db-password", "a-long-db-password", "--region", "eu-west-2"],
                        cwd=tmp_path, env=cli_env)
    assert created["name"] == "cli-made" and created["region"] == "eu-west-2"
    assert ("POST", "/v1/projects", 201) in log.requests
    listed = _cli_json(["projects", "list"], cwd=tmp_path, env=cli_env)
    assert created["ref"] in {p["ref"] for p in listed}


def test_network_restrictions_update_append_and_get(
    tmp_path: Path, cli_env: dict[str, str], logged: tuple[ServedApp, RequestLog]
) -> None:
    _, log = logged
    ref = ["--project-ref", JOURNAL, "--experimental"]
    before = _cli_json(["network-restrictions", "get", *ref], cwd=tmp_path, env=cli_env)
    assert before["config"] == {"dbAllowedCidrs": ["0.0.0.0/0"], "dbAllowedCidrsV6": ["::/0"]}
    _cli_json(["network-restrictions", "update", *ref, "--db-allow-cidr", "10.0.0.0/8",
               "--bypass-cidr-checks"], cwd=tmp_path, env=cli_env)
    _cli_json(["network-restrictions", "update", *ref, "--db-allow-cidr", "8.8.8.0/24",
               "--append"], cwd=tmp_path, env=cli_env)
    after = _cli_json(["network-restrictions", "get", *ref], cwd=tmp_path, env=cli_env)
    assert after["config"] == {"dbAllowedCidrs": ["10.0.0.0/8", "8.8.8.0/24"],
                               "dbAllowedCidrsV6": []}
    path = f"/v1/projects/{JOURNAL}/network-restrictions"
    assert ("POST", f"{path}/apply", 201) in log.requests
    assert ("PATCH", path, 200) in log.requests


def test_ssl_enforcement_update_and_get(tmp_path: Path, cli_env: dict[str, str]) -> None:
    ref = ["--project-ref", JOURNAL, "--experimental"]
    assert _cli_json(["ssl-enforcement", "get", *ref], cwd=tmp_path,
                     env=cli_env)["currentConfig"] == {"database": False}
    updated = _cli_json(["ssl-enforcement", "update", *ref, "--enable-db-ssl-enforcement"],
                        cwd=tmp_path, env=cli_env)
    assert updated == {"currentConfig": {"database": True}, "appliedSuccessfully": True}
    assert _cli_json(["ssl-enforcement", "get", *ref], cwd=tmp_path,
                     env=cli_env)["currentConfig"] == {"database": True}


def test_postgres_config_update_is_applied_and_unknown_keys_refused(
    tmp_path: Path, cli_env: dict[str, str], world: SandboxWorld
) -> None:
    cli = require_client("supabase")
    update = [str(cli), "postgres-config", "update", "--project-ref", AUTH_EU,
              "--experimental", "--no-restart"]
    refused = run_client([*update, "--config", "work_mem=8MB", "--config", "bogus_key=1"],
                         cwd=tmp_path, env=cli_env)
    assert refused.returncode != 0
    assert "Unrecognized key(s) in object: 'bogus_key'" in refused.stderr
    done = run_client([*update, "--config", "work_mem=8MB", "--config",
                       "statement_timeout=10s"], cwd=tmp_path, env=cli_env)
    assert done.returncode == 0, done.stderr
    assert world.store.get("supabase", "postgres_config", AUTH_EU) == {
        "work_mem": "8MB", "statement_timeout": "10s"}
    assert world.database is not None
    with psycopg.connect(world.database.database_url(AUTH_EU)) as conn:
        assert conn.execute("show work_mem").fetchone() == ("8MB",)
    assert world.database.set_database_settings(AUTH_EU, {}) == []  # put the database back
