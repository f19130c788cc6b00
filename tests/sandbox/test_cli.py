"""``converge sandbox serve|env|reset``: output, readiness time, clean shutdown."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from converge.cli.main import cli
from converge.util.processes import pid_alive
from converge_sandbox.postgres import delete_cluster
from converge_sandbox.registry import state_dir_for
from converge_sandbox.requestlog import fetch_request_log
from converge_sandbox.vercel.seed import project_id, team_id
from tests.sandbox.placeholders import start_placeholder_sandbox, with_real_infisical

REPO = Path(__file__).resolve().parents[2]
EXPORT_NAMES = [
    "INFISICAL_API_URL", "INFISICAL_CLIENT_ID", "INFISICAL_CLIENT_SECRET", "INFISICAL_TOKEN",
    "VERCEL_API_URL", "VERCEL_TOKEN", "SUPABASE_API_URL", "SUPABASE_ACCESS_TOKEN",
]


def test_env_without_a_running_sandbox_fails_with_one_sentence(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["sandbox", "env", "--workspace", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines()[0] == f"error: no sandbox is running for {tmp_path}"


def test_env_prints_the_running_sandboxs_exports(tmp_path: Path) -> None:
    """The same variables as the running sandbox; ``INFISICAL_TOKEN`` is a fresh access
    token from the operator's login, which the running server accepts."""
    with start_placeholder_sandbox(state_dir_for(tmp_path),
                                   vendors=with_real_infisical()) as running:
        result = CliRunner().invoke(cli, ["sandbox", "env", "--workspace", str(tmp_path)])
        printed = dict(line.removeprefix("export ").split("=", 1)
                       for line in result.stdout.splitlines())
        details = httpx.get(printed["INFISICAL_API_URL"] + "/api/v1/identities/details",
                            headers={"Authorization": f"Bearer {printed['INFISICAL_TOKEN']}"})
    assert result.exit_code == 0
    assert list(printed) == EXPORT_NAMES == list(running.env)
    assert {k: v for k, v in printed.items() if k != "INFISICAL_TOKEN"} == \
        {k: v for k, v in running.env.items() if k != "INFISICAL_TOKEN"}
    assert details.status_code == 200


def test_reset_refuses_while_running_and_wipes_afterwards(tmp_path: Path) -> None:
    runner = CliRunner()
    with start_placeholder_sandbox(state_dir_for(tmp_path)):
        refused = runner.invoke(cli, ["sandbox", "reset", "--workspace", str(tmp_path)])
    done = runner.invoke(cli, ["sandbox", "reset", "--workspace", str(tmp_path)])
    assert refused.exit_code == 1 and "is running" in refused.stderr
    assert done.exit_code == 0 and "Reset the sandbox state" in done.stdout
    assert not (state_dir_for(tmp_path) / "state.db").exists()


def test_serve_rejects_a_bad_fault_spec(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["sandbox", "serve", "--workspace", str(tmp_path), "--faults", "error_rate=9"]
    )
    assert result.exit_code == 1
    assert "invalid fault 'error_rate=9'" in result.stderr


Served = tuple[subprocess.Popen[str], list[str], float]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Runs ``converge sandbox serve`` in a subprocess (the real emulators and PostgreSQL)
    and returns it with its export lines and the seconds they took."""
    processes: list[subprocess.Popen[str]] = []

    def start(*options: str) -> Served:
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "converge.cli.main", "sandbox", "serve", "--workspace",
             str(tmp_path), *options],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "CONVERGE_SANDBOX_FAULTS": "", "CONVERGE_SANDBOX_RATE_LIMITS": ""},
        )
        processes.append(process)
        assert process.stdout is not None
        lines = [process.stdout.readline().rstrip("\n") for _ in EXPORT_NAMES]
        return process, lines, time.monotonic() - started

    try:
        yield start
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait(10)
        delete_cluster(state_dir_for(tmp_path) / "pg")


@pytest.fixture
def served(serve: Callable[..., Served]) -> Served:
    return serve()


def _postgres_pid(state_dir: Path, timeout: float = 20.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        recorded = json.loads((state_dir / "running.json").read_text())
        if recorded.get("postgres_pid"):
            return int(recorded["postgres_pid"])
        time.sleep(0.05)
    raise AssertionError("the sandbox never recorded its PostgreSQL pid")


@pytest.mark.integration
def test_serve_prints_exports_fast_and_sigterm_leaves_no_process(
    tmp_path: Path, served: Served
) -> None:
    process, lines, elapsed = served
    assert elapsed < 3.0
    assert [line.split("=", 1)[0] for line in lines] == [f"export {n}" for n in EXPORT_NAMES]
    env = dict(line.removeprefix("export ").split("=", 1) for line in lines)
    answered = httpx.get(env["VERCEL_API_URL"] + f"/v10/projects/{project_id('journal-web')}/env",
                         params={"teamId": team_id()},
                         headers={"Authorization": f"Bearer {env['VERCEL_TOKEN']}"})
    postmaster = _postgres_pid(state_dir_for(tmp_path))
    assert answered.status_code == 200 and pid_alive(postmaster)

    process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0
    assert not pid_alive(postmaster)
    assert not (state_dir_for(tmp_path) / "running.json").exists()


@pytest.mark.integration
def test_serve_stops_on_sigint_too(tmp_path: Path, served: Served) -> None:
    process, _, _ = served
    postmaster = _postgres_pid(state_dir_for(tmp_path))
    process.send_signal(signal.SIGINT)
    assert process.wait(20) == 0
    assert not pid_alive(postmaster)


@pytest.mark.integration
def test_serve_injects_the_faults_it_is_given(serve: Callable[..., Served]) -> None:
    process, lines, _ = serve("--faults", "error_rate=1,error_codes=503,vendor=vercel")
    env = dict(line.removeprefix("export ").split("=", 1) for line in lines)
    vercel = httpx.get(env["VERCEL_API_URL"] + f"/v10/projects/{project_id('journal-web')}/env",
                       headers={"Authorization": f"Bearer {env['VERCEL_TOKEN']}"})
    login = httpx.post(env["INFISICAL_API_URL"] + "/api/v1/auth/universal-auth/login",
                       json={"clientId": env["INFISICAL_CLIENT_ID"],
                             "clientSecret": env["INFISICAL_CLIENT_SECRET"]})
    logged = fetch_request_log(env["SUPABASE_API_URL"])
    process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0
    assert vercel.status_code == 503
    assert vercel.json()["error"]["code"] == "service_unavailable"
    assert login.status_code == 200
    assert [(e.vendor, e.status, e.fault) for e in logged.entries] == [
        ("vercel", 503, "error"), ("infisical", 200, "")
    ]
    assert env["INFISICAL_CLIENT_SECRET"] not in repr(logged)


def test_serve_on_a_busy_port_fails_with_one_sentence(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGTERM)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(
            cli, ["sandbox", "serve", "--workspace", str(tmp_path), "--port-base", str(port)]
        )
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}: ")
    assert result.stdout == ""
    assert signal.getsignal(signal.SIGTERM) == before  # handlers restored
    assert not (state_dir_for(tmp_path) / "running.json").exists()
