"""start_sandbox: serving, env, running.json, persistence, reset and the deferred database."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest

from converge.errors import SandboxError
from converge_sandbox.registry import (
    find_workspace,
    read_running,
    reset_state,
    running_env,
    state_dir_for,
)
from converge_sandbox.runner import DeferredDatabase, VendorParts, start_sandbox
from converge_sandbox.world import SandboxWorld
from tests.sandbox.placeholders import (
    PATHS,
    auth,
    placeholder_parts,
    start_placeholder_sandbox,
    with_real_infisical,
)

ENV_NAMES = [
    "INFISICAL_API_URL", "INFISICAL_CLIENT_ID", "INFISICAL_CLIENT_SECRET", "INFISICAL_TOKEN",
    "VERCEL_API_URL", "VERCEL_TOKEN", "SUPABASE_API_URL", "SUPABASE_ACCESS_TOKEN",
]


def _path(vendor: str) -> str:
    return PATHS[vendor].format(project="abcdefghijklmnopqrst")


def test_sandbox_serves_three_vendors_and_describes_them_in_env(tmp_path: Path) -> None:
    with start_placeholder_sandbox(tmp_path) as sandbox:
        env = sandbox.env
        answers = {
            vendor: httpx.get(env[f"{vendor.upper()}_API_URL"] + _path(vendor),
                              headers=auth(sandbox, vendor)).status_code
            for vendor in ("infisical", "vercel", "supabase")
        }
    assert list(env) == ENV_NAMES
    assert answers == {"infisical": 200, "vercel": 200, "supabase": 200}
    urls = [env[n] for n in ENV_NAMES if n.endswith("_URL")]
    assert all(u.startswith("http://127.0.0.1:") for u in urls) and len(set(urls)) == 3


def test_the_printed_variables_are_the_ones_a_sandbox_run_replaces() -> None:
    """What the sandbox prints is exactly what ``target: sandbox`` drops from the shell
    before using the sandbox (no live credential can leak into a sandbox run)."""
    from converge.cli.target import SANDBOX_VARIABLES

    assert tuple(ENV_NAMES) == SANDBOX_VARIABLES


def _free_base() -> int:
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = int(probe.getsockname()[1])
        if base > 65000:
            continue
        socks = []
        try:
            for port in range(base, base + 3):
                sock = socket.socket()
                socks.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise AssertionError("no three consecutive free ports")


def test_port_base_places_vendors_on_consecutive_ports(tmp_path: Path) -> None:
    base = _free_base()
    with start_placeholder_sandbox(tmp_path, port_base=base) as sandbox:
        ports = sandbox.servers.ports
    assert ports == {"infisical": base, "vercel": base + 1, "supabase": base + 2}


def _identity_details(env: dict[str, str]) -> int:
    return httpx.get(env["INFISICAL_API_URL"] + "/api/v1/identities/details",
                     headers={"Authorization": f"Bearer {env['INFISICAL_TOKEN']}"}).status_code


def test_running_json_lets_another_process_find_the_sandbox(tmp_path: Path) -> None:
    """``running_env`` (another process's view) prints the same variables; its
    ``INFISICAL_TOKEN`` comes from a fresh operator login and the running server accepts it."""
    with start_placeholder_sandbox(tmp_path, vendors=with_real_infisical()) as sandbox:
        recorded = json.loads((tmp_path / "running.json").read_text())
        found = read_running(tmp_path)
        env = running_env(tmp_path)
        answers = (_identity_details(env), _identity_details(sandbox.env))
        assert list(env) == list(sandbox.env) == ENV_NAMES
        assert {k: v for k, v in env.items() if k != "INFISICAL_TOKEN"} == \
            {k: v for k, v in sandbox.env.items() if k != "INFISICAL_TOKEN"}
        assert env["INFISICAL_TOKEN"] != sandbox.env["INFISICAL_TOKEN"]
        assert answers == (200, 200)
        with pytest.raises(SandboxError, match="already running"):
            start_placeholder_sandbox(tmp_path)
    assert recorded["pid"] == os.getpid()
    assert found is not None and found.ports == sandbox.servers.ports
    assert sandbox.env["VERCEL_TOKEN"] not in json.dumps(recorded)
    assert not (tmp_path / "running.json").exists()
    with pytest.raises(SandboxError, match="no sandbox is running"):
        running_env(tmp_path)


def test_credentials_and_objects_persist_across_restarts(tmp_path: Path) -> None:
    with start_placeholder_sandbox(tmp_path) as sandbox:
        first_env = sandbox.env
        httpx.post(sandbox.url("vercel") + _path("vercel"), headers=auth(sandbox, "vercel"),
                   json={"key": "KEPT", "value": "1"})
    with start_placeholder_sandbox(tmp_path) as sandbox:
        second_env = sandbox.env
        listed = httpx.get(sandbox.url("vercel") + _path("vercel"),
                           headers=auth(sandbox, "vercel")).json()
    assert first_env["VERCEL_TOKEN"] == second_env["VERCEL_TOKEN"]
    assert [item["key"] for item in listed["items"]] == ["KEPT"]


def test_reset_refuses_while_running_then_wipes_the_state(tmp_path: Path) -> None:
    with start_placeholder_sandbox(tmp_path) as sandbox:
        token = sandbox.env["VERCEL_TOKEN"]
        httpx.post(sandbox.url("vercel") + _path("vercel"), headers=auth(sandbox, "vercel"),
                   json={"key": "GONE", "value": "1"})
        with pytest.raises(SandboxError, match="is running"):
            reset_state(tmp_path)
    removed = {p.name for p in reset_state(tmp_path)}
    assert {"state.db", "requests.jsonl"} <= removed
    with start_placeholder_sandbox(tmp_path) as sandbox:
        assert sandbox.env["VERCEL_TOKEN"] != token
        assert sandbox.world.store.list("vercel", "item") == []


def test_find_workspace_picks_the_nearest_parent_with_converge_yaml(tmp_path: Path) -> None:
    (tmp_path / "converge.yaml").write_text("projects: []\n")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_workspace(deep) == tmp_path.resolve()
    bare = tmp_path.parent / (tmp_path.name + "-bare")
    bare.mkdir()
    assert find_workspace(bare) == bare.resolve()
    assert state_dir_for(tmp_path) == tmp_path / ".converge" / "sandbox"


class FakeDatabase:
    def __init__(self) -> None:
        self.stopped = False

    def database_url(self, ref: str) -> str:
        return f"postgresql://127.0.0.1/{ref}"

    def read_only_url(self, ref: str) -> str:
        return f"postgresql://reader@127.0.0.1/{ref}"

    def server_version(self) -> str:
        return "16.14"

    def set_database_settings(self, ref: str, settings: Mapping[str, str]) -> list[str]:
        return sorted(settings)

    def stop(self) -> None:
        self.stopped = True

    def pid(self) -> int | None:
        return 4242


def test_database_starts_in_the_background_and_stops_with_the_sandbox(tmp_path: Path) -> None:
    database = FakeDatabase()
    started_in: list[Path] = []

    def start(data_dir: Path) -> FakeDatabase:
        started_in.append(data_dir)
        return database

    with start_placeholder_sandbox(tmp_path, start_database=start) as sandbox:
        db = sandbox.world.database
        assert db is not None
        url = db.database_url("ref")
        assert db.read_only_url("ref") == "postgresql://reader@127.0.0.1/ref"
        assert db.server_version() == "16.14"
        assert db.set_database_settings("ref", {"work_mem": "8MB"}) == ["work_mem"]
        assert sandbox.record_database_pid() == 4242
        recorded = json.loads((tmp_path / "running.json").read_text())
    assert url == "postgresql://127.0.0.1/ref"
    assert started_in == [tmp_path / "pg"]
    assert recorded["postgres_pid"] == 4242
    assert database.stopped


def test_a_database_that_fails_to_start_is_reported_on_use(tmp_path: Path) -> None:
    def start(data_dir: Path) -> FakeDatabase:
        raise RuntimeError("no binaries")

    deferred = DeferredDatabase(start, tmp_path)
    with pytest.raises(SandboxError, match="did not start: no binaries"):
        deferred.database_url("ref")
    deferred.stop()


def test_requests_wait_for_their_vendors_seed(tmp_path: Path) -> None:
    release = threading.Event()
    parts = placeholder_parts()

    def slow_seed(world: SandboxWorld) -> None:
        release.wait(10)
        world.store.put("vercel", "item", "SEEDED", {"key": "SEEDED"})

    parts["vercel"] = VendorParts(parts["vercel"].create_app, slow_seed)
    with start_sandbox(tmp_path, vendors=parts, start_database=None, faults="",
                       rate_limits="") as sandbox:
        results: list[httpx.Response] = []
        waiting = threading.Thread(target=lambda: results.append(httpx.get(
            sandbox.url("vercel") + _path("vercel"), headers=auth(sandbox, "vercel"))))
        waiting.start()
        other = httpx.get(sandbox.url("infisical") + _path("infisical"),
                          headers=auth(sandbox, "infisical"))
        time.sleep(0.1)
        answered_early = bool(results)
        release.set()
        waiting.join(5)
    assert other.status_code == 200
    assert not answered_early
    assert [item["key"] for item in results[0].json()["items"]] == ["SEEDED"]


def test_a_failed_seed_is_reported_and_answered_503(tmp_path: Path) -> None:
    parts = placeholder_parts()

    def broken_seed(world: SandboxWorld) -> None:
        raise RuntimeError("bad seed data")

    parts["supabase"] = VendorParts(parts["supabase"].create_app, broken_seed)
    with start_sandbox(tmp_path, vendors=parts, start_database=None, faults="",
                       rate_limits="") as sandbox:
        with pytest.raises(SandboxError, match="seeding the supabase emulator failed"):
            sandbox.wait_seeded(5)
        response = httpx.get(sandbox.url("supabase") + _path("supabase"),
                             headers=auth(sandbox, "supabase"))
    assert response.status_code == 503
    assert set(response.json()) == {"message"}
