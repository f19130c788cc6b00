"""The sandbox's PostgreSQL manager: start, per-ref databases, reuse, clean stop."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

import psycopg
import pytest

from converge_sandbox import postgres
from converge_sandbox.postgres import (
    ENV_URL,
    PostgresServer,
    database_name,
    delete_cluster,
    start_postgres,
)


@pytest.fixture(autouse=True)
def _local_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests manage their own servers, even where CI points at an external one."""
    monkeypatch.delenv(ENV_URL, raising=False)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not status.exists() or "State:\tZ" not in status.read_text()


def test_start_create_database_connect_and_stop(tmp_path: Path) -> None:
    server = start_postgres(tmp_path / "pg")
    try:
        pid = server.pid()
        assert pid is not None and _alive(pid)
        # The generated password is kept private and out of reprs.
        assert (tmp_path / "pg" / "postgres.json").stat().st_mode & 0o077 == 0
        password = json.loads((tmp_path / "pg" / "postgres.json").read_text())["password"]
        assert password in server.admin_url and password not in repr(server)
        url = server.database_url("journalprodqzvtkwmrx")
        with psycopg.connect(url) as conn:
            row = conn.execute("select current_database(), current_setting('listen_addresses')")
            assert row.fetchone() == ("journalprodqzvtkwmrx", "127.0.0.1")
        assert server.database_url("journalprodqzvtkwmrx") == url  # created once
        server.stop()
        assert not _alive(pid)
        children = [p for p in Path("/proc").iterdir() if p.name.isdigit()
                    and f"PPid:\t{pid}\n" in _read(p / "status")]
        assert children == []
        server.stop()  # idempotent
        restarted = start_postgres(tmp_path / "pg")
        try:
            # The cluster and its databases persist; a restart is quick.
            with psycopg.connect(restarted.database_url("journalprodqzvtkwmrx")) as conn:
                assert conn.execute("select 1").fetchone() == (1,)
        finally:
            restarted.stop()
    finally:
        server.stop()
        delete_cluster(tmp_path / "pg")


def test_second_start_reuses_the_running_server(tmp_path: Path) -> None:
    data_dir = tmp_path / "reuse"
    first = start_postgres(data_dir)
    try:
        second = start_postgres(data_dir)
        assert second.admin_url == first.admin_url
        assert second.pid() is None  # not ours to stop
        second.stop()
        first_pid = first.pid()
        assert first_pid is not None and _alive(first_pid)
    finally:
        first.stop()
        delete_cluster(data_dir)


def test_restart_of_an_existing_cluster_is_fast(tmp_path: Path) -> None:
    data_dir = tmp_path / "fast"
    start_postgres(data_dir).stop()
    began = time.monotonic()
    server = start_postgres(data_dir)
    try:
        assert time.monotonic() - began < 2.0
    finally:
        server.stop()
        delete_cluster(data_dir)


def test_external_url_starts_nothing(monkeypatch: pytest.MonkeyPatch,
                                     postgres_server: PostgresServer, tmp_path: Path) -> None:
    monkeypatch.setenv(ENV_URL, postgres_server.admin_url)
    server = start_postgres(tmp_path / "unused")
    assert server.admin_url == postgres_server.admin_url and server.pid() is None
    with psycopg.connect(server.database_url("externalrefqzvtkwmrx")) as conn:
        assert conn.execute("select current_database()").fetchone() == ("externalrefqzvtkwmrx",)
    server.stop()
    assert not (tmp_path / "unused").exists()


def test_database_names_are_safe_identifiers() -> None:
    assert database_name("abcdefghijklmnopqrst") == "abcdefghijklmnopqrst"
    unsafe = database_name('x"; drop database postgres; --')
    assert unsafe.startswith("p_") and unsafe.isidentifier()
    assert database_name("postgres") != "postgres"


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


@pytest.mark.skipif(os.geteuid() != 0, reason="only root must hand the cluster to another user")
def test_as_root_a_private_data_dir_is_left_alone(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    data_dir = private / "pg"
    server = start_postgres(data_dir)
    try:
        pointer = json.loads((data_dir / "postgres.json").read_text())
        home = Path(pointer["home"])
        assert not home.is_relative_to(private)  # the postgres user could not reach it
        assert home.stat().st_uid != 0 and home.stat().st_mode & 0o077 == 0
        assert private.stat().st_mode & 0o777 == 0o700
        pid = server.pid()
        assert pid is not None and Path(f"/proc/{pid}").stat().st_uid == home.stat().st_uid
    finally:
        server.stop()
        delete_cluster(data_dir)
    assert not home.exists()


def test_a_server_left_by_a_dead_process_is_adopted_and_stopped(tmp_path: Path) -> None:
    data_dir = tmp_path / "orphan"
    first = start_postgres(data_dir)
    pid = first.pid()
    assert pid is not None
    dead = subprocess.Popen(["true"])  # a pid that has certainly exited
    dead.wait()
    (data_dir / ".postgres.owner").write_text(str(dead.pid))
    adopted = start_postgres(data_dir)
    try:
        assert adopted.pid() == pid
        adopted.stop()
        assert not _alive(pid)
    finally:
        adopted.stop()
        first.stop()
        delete_cluster(data_dir)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root must hand the binaries to another user")
def test_binaries_the_postgres_user_cannot_reach_are_copied(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bin_dir = postgres.find_bin_dir()
    real_can_traverse = postgres._can_traverse

    def hide_install(path: Path, account: pwd.struct_passwd | None) -> bool:
        return not path.is_relative_to(bin_dir.parent) and real_can_traverse(path, account)

    runtime = Path("/var/tmp") / f"converge-pg-test-{os.getpid()}"
    monkeypatch.setenv(postgres.ENV_RUNTIME_DIR, str(runtime))
    monkeypatch.setattr(postgres, "_can_traverse", hide_install)
    data_dir = tmp_path / "copied"
    server = start_postgres(data_dir)
    try:
        pid = server.pid()
        assert pid is not None
        assert Path(f"/proc/{pid}/exe").resolve().is_relative_to(runtime)
    finally:
        server.stop()
        delete_cluster(data_dir)
        shutil.rmtree(runtime, ignore_errors=True)



def test_before_postgresql_16_postgres_loses_createrole_so_it_cannot_grant_itself_more(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Up to PostgreSQL 15 a CREATEROLE role may grant itself pg_execute_server_program
    (Supabase's supautils blocks that; the sandbox has no such extension)."""
    old = sorted(Path("/usr/lib/postgresql").glob("1[0-5]/bin"))
    if not old:
        pytest.skip("no PostgreSQL older than 16 installed")
    monkeypatch.setattr(postgres, "find_bin_dir", lambda: old[-1])
    data_dir = tmp_path / "old-server"
    server = start_postgres(data_dir)
    try:
        with psycopg.connect(server.database_url("oldserverqzvtkwmrxab"), autocommit=True) as c:
            assert c.execute("select rolsuper, rolcreaterole from pg_roles "
                             "where rolname = current_user").fetchone() == (False, False)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                c.execute("grant pg_execute_server_program to postgres")
    finally:
        server.stop()
        delete_cluster(data_dir)


def test_login_roles_authenticate_with_scram_of_one_iteration(
    postgres_server: PostgresServer,
) -> None:
    """A connection per SQL request: the client's PBKDF2 over 4,096 iterations was most of
    the sandbox's CPU for one, so its login roles' verifiers use one (still SCRAM)."""
    with psycopg.connect(postgres_server.admin_url, autocommit=True) as conn:
        server = int(str(conn.execute("show server_version_num").fetchone()[0]))  # type: ignore[index]
        rows = conn.execute(
            "select rolname, rolpassword from pg_authid where rolname = any(%s)",
            (["postgres", "supabase_read_only_user"],),
        ).fetchall()
    if server < 160000:
        pytest.skip("scram_iterations exists from PostgreSQL 16 on")
    assert sorted(name for name, _ in rows) == ["postgres", "supabase_read_only_user"]
    assert all(str(verifier).startswith("SCRAM-SHA-256$1:") for _, verifier in rows)
