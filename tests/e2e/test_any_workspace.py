"""A workspace that is not the example runs against the sandbox: the sandbox creates the
vendor-side projects it names (Infisical project, Vercel project, Supabase ref), whether it
is started for the command (``target: sandbox``) or was already serving before the
projects were added, and the vendors' own clients see what it created.

The workspaces are generated (``benchmarks/workspace_gen.py``): projects shaped like
journal, each with its own Infisical project, Vercel project and Supabase ref, whose 20
tables a user's migration creates through the Management API.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from benchmarks.workspace_gen import GeneratedProject, create_tables, generate_workspace
from infisical_sdk import InfisicalSDKClient  # type: ignore[import-untyped]

from converge_sandbox.postgres import delete_cluster
from converge_sandbox.registry import state_dir_for
from converge_sandbox.vercel.seed import project_id, team_id
from tests.conftest import REPO
from tests.e2e.conftest import VERCEL_BIN, base_env, copy_workspace, run_in_process

pytestmark = pytest.mark.integration

EXPORTS = 8
RLS_SQL = (
    "select count(*) filter (where c.relrowsecurity) as secured, count(*) as tables "
    "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
    "where n.nspname = 'public' and c.relkind = 'r'"
)


def converge_ok(root: Path, *args: str, codes: tuple[int, ...] = (0,)) -> str:
    result = run_in_process(root, *args)
    assert result.exit_code in codes, f"converge {' '.join(args)}: {result.output}"
    return result.output


def assert_no_changes(root: Path, *projects: str) -> None:
    output = converge_ok(root, "plan", *projects)
    assert "Plan: 0 to create, 0 to update, 0 to delete, 0 to adopt, 0 conflicts." in output


class Served:
    """``converge sandbox serve`` in its own process, as a person runs it."""

    def __init__(self, root: Path):
        self.root = root
        self.process = subprocess.Popen(
            [sys.executable, "-m", "converge.cli.main", "sandbox", "serve", "--workspace",
             str(root)],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=base_env(CONVERGE_SANDBOX_FAULTS="", CONVERGE_SANDBOX_RATE_LIMITS="scale=1000"),
        )
        assert self.process.stdout is not None
        lines = [self.process.stdout.readline().strip() for _ in range(EXPORTS)]
        self.env = dict(line.removeprefix("export ").split("=", 1) for line in lines)
        assert len(self.env) == EXPORTS, lines

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(60)

    def supabase(self, method: str, path: str, **kw: object) -> httpx.Response:
        return httpx.request(
            method, self.env["SUPABASE_API_URL"] + path, timeout=30,
            headers={"Authorization": f"Bearer {self.env['SUPABASE_ACCESS_TOKEN']}"},
            **kw,  # type: ignore[arg-type]
        )

    def rls(self, ref: str) -> list[int]:
        response = self.supabase("POST", f"/v1/projects/{ref}/database/query",
                                 json={"query": RLS_SQL})
        assert response.status_code in (200, 201), response.text
        row = response.json()[0]
        return [row["secured"], row["tables"]]


@pytest.fixture
def cleanup_clusters() -> Iterator[list[Path]]:
    roots: list[Path] = []
    yield roots
    for root in roots:
        delete_cluster(state_dir_for(root) / "pg")


def test_generated_projects_run_against_a_sandbox_started_for_each_command(
    tmp_path: Path, cleanup_clusters: list[Path]
) -> None:
    root = tmp_path / "ws"
    cleanup_clusters.append(root)
    generate_workspace(root, 3)

    for command in ("validate", "decide", "render"):
        converge_ok(root, command, "--all")
    converge_ok(root, "apply", "--all")

    assert_no_changes(root, "--all")
    assert not (state_dir_for(root) / "running.json").exists()


def test_projects_added_while_serving_are_created_and_reset_creates_them_again(
    tmp_path: Path, cleanup_clusters: list[Path]
) -> None:
    root = copy_workspace(tmp_path / "ws")
    cleanup_clusters.append(root)
    served = Served(root)
    try:
        projects = generate_workspace(root, 2, prefix="gen", settings=False)
        names = [p.name for p in projects]
        for command in ("validate", "decide", "render"):
            converge_ok(root, command, *names)
        # A command makes the running sandbox create the new projects first; the user's
        # migration then creates the tables converge secures.
        planned = converge_ok(root, "plan", *names, codes=(2,))  # 2: changes to make
        assert "conflicts" in planned and "not found" not in planned
        created = create_tables(served.env["SUPABASE_API_URL"],
                                served.env["SUPABASE_ACCESS_TOKEN"],
                                [p.supabase_ref for p in projects])
        assert created == 2
        assert served.rls(projects[0].supabase_ref) == [0, 20]

        converge_ok(root, "apply", *names)

        assert_no_changes(root, *names)
        assert served.rls(projects[0].supabase_ref) == [20, 20]
        for command in ("decide", "render", "apply"):
            converge_ok(root, command, "journal")
        assert_no_changes(root, "journal")
        _vendor_clients_see(served, projects[1], tmp_path)
        unknown = httpx.get(f"{served.env['VERCEL_API_URL']}/v9/projects/never-named",
                            params={"teamId": team_id()}, timeout=10,
                            headers={"Authorization": f"Bearer {served.env['VERCEL_TOKEN']}"})
        assert unknown.status_code == 404  # only what a workspace names is created
    finally:
        served.stop()

    reset = run_in_process(root, "sandbox", "reset")
    assert reset.exit_code == 0, reset.output
    again = Served(root)
    try:
        ref = projects[0].supabase_ref
        assert again.supabase("GET", f"/v1/projects/{ref}").status_code == 200
        assert again.rls(ref) == [0, 0]  # a new, empty database
    finally:
        again.stop()


def _vendor_clients_see(served: Served, project: GeneratedProject, workdir: Path) -> None:
    """The Vercel CLI lists the generated project in its team; the Infisical SDK, logged
    in with the sandbox's credentials, writes a secret into the generated project."""
    if VERCEL_BIN.exists():
        home = workdir / "vercel-home"
        home.mkdir()
        listed = subprocess.run(
            [str(VERCEL_BIN), "--api", served.env["VERCEL_API_URL"], "--token",
             served.env["VERCEL_TOKEN"], "project", "ls", "--scope", "acme"],
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
                 "VERCEL_TELEMETRY_DISABLED": "1", "NO_UPDATE_NOTIFIER": "1", "CI": "1"},
            cwd=home, capture_output=True, text=True, timeout=60, check=False,
        )
        assert listed.returncode == 0, listed.stderr
        assert project.vercel_project in listed.stdout + listed.stderr  # the table is on stderr
    vercel = httpx.get(
        f"{served.env['VERCEL_API_URL']}/v9/projects/{project.vercel_project}",
        params={"teamId": team_id()}, timeout=10,
        headers={"Authorization": f"Bearer {served.env['VERCEL_TOKEN']}"},
    )
    assert vercel.status_code == 200 and vercel.json()["id"] == project_id(
        project.vercel_project)

    sdk = InfisicalSDKClient(host=served.env["INFISICAL_API_URL"], cache_ttl=None)
    sdk.auth.universal_auth.login(served.env["INFISICAL_CLIENT_ID"],
                                  served.env["INFISICAL_CLIENT_SECRET"])
    found = httpx.get(
        f"{served.env['INFISICAL_API_URL']}/api/v1/projects/slug/{project.infisical_project}",
        headers={"Authorization": f"Bearer {served.env['INFISICAL_TOKEN']}"}, timeout=10,
    )
    assert found.status_code == 200, found.text
    secret = sdk.secrets.create_secret_by_name(
        secret_name="FEATURE_FLAG", project_id=found.json()["project"]["id"],
        secret_path="/", environment_slug="prod", secret_value="on",
    )
    assert secret.secretKey == "FEATURE_FLAG"
