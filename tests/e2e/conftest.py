"""Fixtures for the end-to-end tests: a tmp copy of the example workspace served by a real
sandbox (three emulators over loopback HTTP and a real PostgreSQL), and ways to run
converge against it the way a person does.

Each test module gets its own sandbox (``e2e`` fixture, module scope), started on the
workspace's own state folder with ``running.json`` written, so both ``converge`` run in
this process and ``converge`` run as a subprocess (the brief's scripts, ``make``) find it
through the workspace's default ``target: sandbox``. Module-level constants tune it:
``E2E_PROJECTS`` (projects decided and rendered up front), ``E2E_FAULTS`` (the
sandbox's fault spec, e.g. latency for the kill test) and ``E2E_RATE_LIMITS`` (scaled by
default, since one sandbox serves a whole module; ``real`` for the documented limits).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from converge_sandbox.infisical import seed as infisical_seed
from converge_sandbox.registry import state_dir_for
from converge_sandbox.runner import RunningSandbox, start_sandbox
from converge_sandbox.vercel import seed as vercel_seed
from converge_sandbox.vercel.models import VENDOR as VERCEL
from tests.conftest import EXAMPLE_WORKSPACE, REPO, CliResult

CONVERGE = REPO / ".venv" / "bin" / "converge"
VERCEL_BIN = REPO / "tests" / "conformance" / "clients" / "node_modules" / ".bin" / "vercel"
# The variables a sandbox run must not inherit from the shell running the tests.
SANDBOX_VARIABLES = (
    "INFISICAL_API_URL",
    "INFISICAL_CLIENT_ID",
    "INFISICAL_CLIENT_SECRET",
    "INFISICAL_TOKEN",
    "VERCEL_API_URL",
    "VERCEL_TOKEN",
    "SUPABASE_API_URL",
    "SUPABASE_ACCESS_TOKEN",
    "SUPABASE_DB_URL",
    "CONVERGE_TARGET",
    "CONVERGE_WORKSPACE",
    "CONVERGE_SANDBOX_FAULTS",
    "CONVERGE_SANDBOX_RATE_LIMITS",
)
JOURNAL_SUPABASE_REF = "journalprodqzvtkwmrx"


def copy_workspace(target: Path) -> Path:
    """A writable copy of examples/workspace without rendered output, state or logs."""
    shutil.copytree(
        EXAMPLE_WORKSPACE, target, ignore=shutil.ignore_patterns(".out", ".converge", "*.log")
    )
    for path in [target, *target.rglob("*")]:  # the example is read-only in the checkout
        path.chmod(path.stat().st_mode | 0o200)
    return target


def base_env(**extra: str) -> dict[str, str]:
    """The environment of a converge subprocess: no inherited vendor variables, no colour."""
    env = {k: v for k, v in os.environ.items() if k not in SANDBOX_VARIABLES}
    env["NO_COLOR"] = "1"
    env.update(extra)
    return env


def run_in_process(root: Path, *args: str, env: Mapping[str, str] | None = None) -> CliResult:
    """``converge --workspace ROOT ARGS`` through the real entry point, in this process."""
    from converge.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(base_env(**dict(env or {})))
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(["--workspace", str(root), *args])
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return CliResult(code, out.getvalue(), err.getvalue())


def prepare_projects(root: Path, projects: tuple[str, ...]) -> None:
    """decide + render, as a user does before reconciling."""
    for project in projects:
        for command in ("decide", "render"):
            result = run_in_process(root, command, project)
            assert result.exit_code == 0, result.output


@dataclass
class E2E:
    """A workspace and the sandbox serving it."""

    root: Path
    sandbox: RunningSandbox

    # -- converge --------------------------------------------------------------------

    def cli(self, *args: str, env: Mapping[str, str] | None = None) -> CliResult:
        return run_in_process(self.root, *args, env=env)

    def converge(
        self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """``converge --workspace ROOT ARGS`` as a subprocess."""
        return subprocess.run(
            [str(CONVERGE), "--workspace", str(self.root), *args],
            env=base_env(**dict(env or {})),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    # -- the sandbox -----------------------------------------------------------------

    @property
    def env(self) -> dict[str, str]:
        return dict(self.sandbox.env)

    def live_env(self, **override: str) -> dict[str, str]:
        """The sandbox's variables, as a ``--target live`` run reads them."""
        return {**self.sandbox.env, **override}

    @property
    def state_dir(self) -> Path:
        return self.sandbox.state_dir

    def request_log_file(self) -> Path:
        self.sandbox.request_log.flush()
        path = self.sandbox.request_log.path
        assert path is not None
        return path

    # -- Vercel ----------------------------------------------------------------------

    def vercel_envs(self, project: str) -> list[dict[str, Any]]:
        """The env records the Vercel emulator holds for a project (end state, plaintext)."""
        return self.sandbox.world.store.list(
            VERCEL, "env", prefix=vercel_seed.project_id(project) + "/"
        )

    def vercel_value(self, project: str, key: str) -> str:
        matches = [e for e in self.vercel_envs(project) if e["key"] == key]
        assert len(matches) == 1, f"{len(matches)} records for {key}"
        return str(matches[0]["value"])

    def vercel_delete_env(self, project: str, env_id: str) -> None:
        """Remove a variable through Vercel's API, as a person in the dashboard would."""
        response = httpx.delete(
            f"{self.sandbox.url('vercel')}/v9/projects/{project}/env/{env_id}",
            params={"teamId": vercel_seed.team_id()},
            headers={"Authorization": f"Bearer {self.sandbox.world.credentials.vercel_token}"},
            timeout=10,
        )
        assert response.status_code == 200, response.status_code

    # -- Infisical -------------------------------------------------------------------

    def infisical(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """A request to the Infisical emulator with the access token the sandbox prints
        (the operator's, from a universal-auth login)."""
        headers = {"Authorization": f"Bearer {self.sandbox.env['INFISICAL_TOKEN']}"}
        return httpx.request(
            method, self.sandbox.url("infisical") + path, headers=headers, timeout=10, **kw
        )

    def infisical_project_id(self, slug: str) -> str:
        return infisical_seed.project_id_by_slug(self.sandbox.world, slug)

    def infisical_docs(self, kind: str, prefix: str = "") -> list[dict[str, Any]]:
        return self.sandbox.world.store.list("infisical", kind, prefix=prefix)

    # -- Supabase --------------------------------------------------------------------

    def database_url(self, ref: str) -> str:
        database = self.sandbox.world.database
        assert database is not None
        return database.database_url(ref)


# One sandbox serves a whole test module: more runs a minute than a team makes, so the
# documented limits (the sandbox's default) are scaled, and the headers say so.
E2E_RATE_LIMITS = "scale=1000"


def start_e2e(
    root: Path, *, projects: tuple[str, ...], faults: str = "",
    rate_limits: str = E2E_RATE_LIMITS,
) -> E2E:
    copy_workspace(root)
    prepare_projects(root, projects)
    sandbox = start_sandbox(state_dir_for(root), faults=faults, rate_limits=rate_limits)
    try:
        sandbox.wait_seeded()
        sandbox.record_database_pid()
    except BaseException:
        sandbox.stop()
        raise
    return E2E(root, sandbox)


@pytest.fixture(scope="module")
def e2e(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2E]:
    """A fresh workspace and sandbox for the test module (stopped at the end)."""
    projects = tuple(getattr(request.module, "E2E_PROJECTS", ("journal",)))
    faults = str(getattr(request.module, "E2E_FAULTS", ""))
    limits = str(getattr(request.module, "E2E_RATE_LIMITS", E2E_RATE_LIMITS))
    harness = start_e2e(tmp_path_factory.mktemp("e2e") / "ws", projects=projects, faults=faults,
                        rate_limits=limits)
    try:
        yield harness
    finally:
        harness.sandbox.stop()


def vercel_cli_env_ls(e2e: E2E, project: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    """The real Vercel CLI's ``env ls`` in a directory linked to ``project``."""
    link = workdir / ".vercel"
    link.mkdir(parents=True, exist_ok=True)
    (link / "project.json").write_text(
        json.dumps({"projectId": vercel_seed.project_id(project), "orgId": vercel_seed.team_id()})
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "VERCEL_TELEMETRY_DISABLED": "1",
        "NO_UPDATE_NOTIFIER": "1",
        "CI": "1",
    }
    return subprocess.run(
        [str(VERCEL_BIN), "--api", e2e.sandbox.url("vercel"), "--token",
         e2e.sandbox.world.credentials.vercel_token, "env", "ls"],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=60, check=False,
    )


@pytest.fixture(scope="module")
def applied(e2e: E2E) -> E2E:
    """The module's sandbox after one successful ``converge apply journal``."""
    result = e2e.cli("apply", "journal")
    assert result.exit_code == 0, result.output
    return e2e
