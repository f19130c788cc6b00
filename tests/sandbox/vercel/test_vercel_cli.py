"""The real Vercel CLI (58.10.0) drives the emulator over loopback and succeeds.

Each test runs ``vercel --api <url> --token <token> env …`` in a directory linked to the
seeded ``analytics-dashboard`` project, then checks what the emulator now holds.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from converge_sandbox.serving import ServedApp, serve_in_thread
from converge_sandbox.vercel import seed as vercel_seed
from converge_sandbox.vercel.app import create_app
from converge_sandbox.world import SandboxWorld
from tests.sandbox.vercel.conftest import Api, stored_envs

CLIENTS = Path(__file__).resolve().parents[2] / "conformance" / "clients" / "node_modules"
VERCEL_BIN = CLIENTS / ".bin" / "vercel"
PROJECT = "analytics-dashboard"

pytestmark = [
    pytest.mark.conformance,
    pytest.mark.skipif(
        not VERCEL_BIN.exists(),
        reason=f"Vercel CLI not installed at {VERCEL_BIN} (run `make test` to install it)",
    ),
]


@dataclass
class Cli:
    """Runs the Vercel CLI against one served emulator from a linked project dir."""

    world: SandboxWorld
    served: ServedApp
    cwd: Path
    home: Path

    def run(self, *args: str, stdin: str | None = None,
            token: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "VERCEL_TELEMETRY_DISABLED": "1",
            "NO_UPDATE_NOTIFIER": "1",
            "CI": "1",
        }
        bearer = token if token is not None else self.world.credentials.vercel_token
        return subprocess.run(
            [str(VERCEL_BIN), "--api", self.served.url, "--token", bearer, *args],
            cwd=self.cwd, env=env, input=stdin, capture_output=True, text=True, timeout=60,
        )

    def ok(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        result = self.run(*args, stdin=stdin)
        assert result.returncode == 0, f"vercel {' '.join(args)} failed:\n{result.stderr}"
        return result

    def given(self, key: str, value: str, target: list[str], *, type_: str = "encrypted",
              git_branch: str | None = None) -> None:
        """Set up a precondition in-process (fast), not through the CLI under test."""
        body: dict[str, Any] = {"key": key, "value": value, "type": type_, "target": target}
        if git_branch:
            body["gitBranch"] = git_branch
        response = Api(self.world).post(f"/v10/projects/{PROJECT}/env", json=body)
        assert response.status_code == 201, response.text

    def envs(self) -> list[dict[str, Any]]:
        return stored_envs(self.world, PROJECT)

    def env(self, key: str) -> dict[str, Any]:
        matches = [e for e in self.envs() if e["key"] == key]
        assert len(matches) == 1, f"expected one {key}, found {len(matches)}"
        return matches[0]


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    world = SandboxWorld.in_memory()
    vercel_seed.seed(world)
    project_dir = tmp_path / "project"
    (project_dir / ".vercel").mkdir(parents=True)
    (project_dir / ".vercel" / "project.json").write_text(json.dumps({
        "projectId": vercel_seed.project_id(PROJECT), "orgId": vercel_seed.team_id(),
    }))
    home = tmp_path / "home"
    home.mkdir()
    with serve_in_thread(create_app(world)) as served:
        yield Cli(world=world, served=served, cwd=project_dir, home=home)


def test_env_ls_shows_the_seeded_unmanaged_var_without_its_value(cli: Cli) -> None:
    result = cli.ok("env", "ls")
    assert vercel_seed.UNMANAGED_ENV_KEY in result.stdout
    assert cli.env(vercel_seed.UNMANAGED_ENV_KEY)["value"] not in result.stdout


def test_env_add_from_stdin_stores_a_sensitive_production_var(cli: Cli) -> None:
    cli.ok("env", "add", "NEW_VAR", "production", stdin="secretvalue1")
    record = cli.env("NEW_VAR")
    assert (record["type"], record["target"], record["value"]) == (
        "sensitive", ["production"], "secretvalue1"
    )


def test_env_add_no_sensitive_stores_an_encrypted_var_on_every_target(cli: Cli) -> None:
    cli.ok("env", "add", "PLAIN_VAR", "production,preview,development",
           "--value", "plainval", "--no-sensitive", "--yes")
    record = cli.env("PLAIN_VAR")
    assert record["type"] == "encrypted"
    assert sorted(record["target"]) == ["development", "preview", "production"]
    assert record["value"] == "plainval"


def test_env_add_git_branch_stores_a_branch_scoped_preview_var(cli: Cli) -> None:
    cli.ok("env", "add", "BR_VAR", "preview", "--git-branch", "feat-x",
           "--value", "brval", "--yes")
    record = cli.env("BR_VAR")
    assert (record["target"], record["git_branch"], record["type"]) == (
        ["preview"], "feat-x", "sensitive"
    )


def test_env_add_of_an_existing_var_fails_and_force_overwrites_it(cli: Cli) -> None:
    cli.given("DUP", "v1", ["production"], type_="sensitive")
    first_id = cli.env("DUP")["id"]

    again = cli.run("env", "add", "DUP", "production", "--value", "v2", "--yes")
    assert again.returncode == 1
    assert "same Name and Environment" in again.stderr
    assert cli.env("DUP")["value"] == "v1"

    cli.ok("env", "add", "DUP", "production", "--value", "v3", "--force", "--yes")
    record = cli.env("DUP")
    assert (record["id"], record["value"]) == (first_id, "v3")


def test_env_update_changes_the_value_of_the_same_record(cli: Cli) -> None:
    cli.given("EXISTING_VAR", "old", ["production", "preview"])
    before = cli.env("EXISTING_VAR")
    cli.ok("env", "update", "EXISTING_VAR", "production", "--value", "newval", "--yes")
    after = cli.env("EXISTING_VAR")
    assert after["id"] == before["id"]
    assert after["value"] == "newval"
    assert sorted(after["target"]) == ["preview", "production"]
    assert after["ciphertext"] != before["ciphertext"]


def test_env_update_sensitive_turns_the_var_write_only(cli: Cli) -> None:
    cli.given("TO_HIDE", "a", ["production", "preview"])
    cli.ok("env", "update", "TO_HIDE", "production", "--sensitive", "--value", "b", "--yes")
    record = cli.env("TO_HIDE")
    assert (record["type"], record["value"]) == ("sensitive", "b")


def test_env_rm_deletes_the_whole_record_and_leaves_others(cli: Cli) -> None:
    cli.given("GONE", "x", ["production", "preview"])
    cli.ok("env", "rm", "GONE", "preview", "--yes")
    keys = [e["key"] for e in cli.envs()]
    assert "GONE" not in keys
    assert vercel_seed.UNMANAGED_ENV_KEY in keys


def test_env_rm_of_an_unknown_name_fails_without_deleting(cli: Cli) -> None:
    before = cli.envs()
    result = cli.run("env", "rm", "MISSING", "production", "--yes")
    assert result.returncode == 1
    assert cli.envs() == before


def test_env_pull_writes_decrypted_values_and_marks_sensitive_ones(cli: Cli) -> None:
    cli.given("SECRET_ONE", "s3cr3t", ["production"], type_="sensitive")
    cli.ok("env", "pull", ".env.prod", "--environment", "production", "--yes")
    pulled = (cli.cwd / ".env.prod").read_text()
    assert f'{vercel_seed.UNMANAGED_ENV_KEY}="sandbox-segment-write-key-7f3a91c2"' in pulled
    assert 'SECRET_ONE="[SENSITIVE]"' in pulled
    assert "s3cr3t" not in pulled


def test_env_pull_for_a_branch_prefers_the_branch_value(cli: Cli) -> None:
    cli.given("BR", "generic", ["preview"])
    cli.given("BR", "scoped", ["preview"], git_branch="feat-x")
    cli.ok("env", "pull", ".env.br", "--environment", "preview", "--git-branch", "feat-x",
           "--yes")
    assert 'BR="scoped"' in (cli.cwd / ".env.br").read_text()


def test_env_ls_with_project_and_scope_flags_finds_the_team_project(cli: Cli) -> None:
    result = cli.ok("env", "ls", "--project", PROJECT, "--scope", vercel_seed.TEAM_SLUG)
    assert vercel_seed.UNMANAGED_ENV_KEY in result.stdout


def test_a_wrong_token_is_refused(cli: Cli) -> None:
    result = cli.run("env", "ls", token="not-the-sandbox-token")
    assert result.returncode != 0
    assert "token" in result.stderr.lower()


def test_project_ls_lists_the_teams_projects_most_recently_updated_first(cli: Cli) -> None:
    listed = json.loads(cli.ok("project", "ls", "--format", "json").stdout)
    assert [p["name"] for p in listed["projects"]] == ["analytics-dashboard", "journal-web"]
    assert listed["pagination"] == {"count": 2, "next": None, "prev": None}
    assert listed["contextName"] == vercel_seed.TEAM_SLUG


def test_project_ls_pages_with_limit_and_next(cli: Cli) -> None:
    first = cli.ok("project", "ls", "--limit", "1").stderr  # the CLI prints tables there
    assert "analytics-dashboard" in first and "journal-web" not in first
    hint = first.split("--next ")[1].split("`")[0]
    second = cli.ok("project", "ls", "--limit", "1", "--next", hint).stderr
    assert "journal-web" in second and "analytics-dashboard" not in second
    assert "--next" not in second  # the last page
