"""A PostgreSQL cluster belongs to the one workspace it serves (issue 8 item 12): a copied
workspace gets its own, ``converge sandbox reset`` removes it wherever it lives, and the
clusters of deleted workspaces are removed too."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from converge_sandbox import pglocation
from converge_sandbox.postgres import ENV_URL, PostgresServer, start_postgres
from converge_sandbox.registry import PG_DIR, reset_state, state_dir_for
from converge_sandbox.runner import start_sandbox

AS_ROOT = os.geteuid() == 0


@pytest.fixture(autouse=True)
def _local_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_URL, raising=False)


@pytest.fixture(params=["inside", "outside"])
def parent(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """Where workspaces live: a folder the postgres account can reach (the cluster stays
    inside the workspace) or, as root, a private one (the cluster goes to the runtime
    directory)."""
    if request.param == "inside":
        base = Path(tempfile.mkdtemp(prefix="converge-pgloc-", dir="/var/tmp"))
        base.chmod(0o755)
        yield base
        shutil.rmtree(base, ignore_errors=True)
    else:
        if not AS_ROOT:
            pytest.skip("only root keeps clusters outside the workspace")
        yield tmp_path


def _home(data_dir: Path) -> Path:
    pointer = pglocation.read_pointer(data_dir)
    assert pointer is not None
    return pointer.home


def _marker(server: PostgresServer, value: str | None = None) -> str:
    """Write (or read) a row that tells two clusters apart."""
    with psycopg.connect(server.database_url("markerqzvtkwmrxabcde"), autocommit=True) as c:
        c.execute("create table if not exists public.mark (v text)")
        if value is not None:
            c.execute("insert into public.mark values (%s)", (value,))
        row = c.execute("select string_agg(v, ',' order by v) from public.mark").fetchone()
    return str(row[0]) if row else ""


def test_a_copied_workspace_gets_a_cluster_of_its_own(parent: Path) -> None:
    original = parent / "original" / "pg"
    server = start_postgres(original)
    _marker(server, "original")
    server.stop()
    copy = parent / "copy" / "pg"
    shutil.copytree(parent / "original", parent / "copy", symlinks=True)

    first, second = start_postgres(original), start_postgres(copy)
    try:
        assert first.pid() is not None and second.pid() is not None
        assert first.pid() != second.pid()
        assert _home(copy) != _home(original)
        assert not _home(copy).is_relative_to(original.parent)
        _marker(second, "copy")
        assert "copy" not in _marker(first)
        second.stop()  # stopping the copy leaves the original's database up
        assert _marker(first) == "original"
    finally:
        first.stop()
        second.stop()
        pglocation.delete_cluster(original)
        pglocation.delete_cluster(copy)


def test_a_workspace_copied_while_its_server_runs_starts_its_own(tmp_path: Path) -> None:
    """The copied ``postmaster.pid`` names the original's live server: it is not ours."""
    base = Path(tempfile.mkdtemp(prefix="converge-pgloc-", dir="/var/tmp"))
    base.chmod(0o755)
    original, copy = base / "a" / "pg", base / "b" / "pg"
    first = start_postgres(original)
    second: PostgresServer | None = None
    try:
        _marker(first, "a")
        shutil.copytree(base / "a", base / "b", symlinks=True,
                        ignore=shutil.ignore_patterns(".s.PGSQL.*"))
        second = start_postgres(copy)
        assert second.pid() is not None and second.pid() != first.pid()
        second.stop()
        assert _marker(first) == "a"
    finally:
        first.stop()
        if second is not None:
            second.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_a_pointer_is_relative_inside_and_names_its_workspace_outside(parent: Path) -> None:
    data_dir = parent / "ws" / "pg"
    server = start_postgres(data_dir)
    server.stop()
    try:
        doc = json.loads((data_dir / pglocation.POINTER).read_text())
        if Path(doc["home"]).is_absolute():
            assert doc["workspace"] == str(data_dir.resolve())
            assert json.loads((Path(doc["home"]) / "workspace.json").read_text()) == {
                "workspace": str(data_dir.resolve())}
        else:
            assert doc["home"] == "postgres"
    finally:
        pglocation.delete_cluster(data_dir)


@pytest.mark.integration
def test_reset_leaves_no_cluster_behind(parent: Path) -> None:
    workspace = parent / "served"
    workspace.mkdir()
    state_dir = state_dir_for(workspace)
    with start_sandbox(state_dir, faults="", rate_limits="") as sandbox:
        sandbox.wait_seeded()
        home = _home(state_dir / PG_DIR)
        assert (home / "pgdata" / "PG_VERSION").exists()
    removed = reset_state(state_dir)
    assert home in removed and not home.exists()
    assert not (state_dir / PG_DIR).exists()


@pytest.mark.integration
def test_reset_removes_the_clusters_of_deleted_workspaces(tmp_path: Path) -> None:
    if not AS_ROOT:
        pytest.skip("only root keeps clusters outside the workspace")
    gone = tmp_path / "gone"
    gone.mkdir()
    with start_sandbox(state_dir_for(gone), faults="", rate_limits="") as sandbox:
        sandbox.wait_seeded()
        home = _home(state_dir_for(gone) / PG_DIR)
    assert home.is_relative_to(pglocation.runtime_dir())
    shutil.rmtree(gone)  # the folder is deleted without a reset
    os.utime(home, (0, 0))  # not a home another process is setting up right now
    other = tmp_path / "other"
    other.mkdir()
    removed = reset_state(state_dir_for(other))
    assert home in removed and not home.exists()


def test_stale_sweep_spares_served_running_and_new_homes(tmp_path: Path) -> None:
    runtime = tmp_path / "runtime"
    served_ws = tmp_path / "ws" / "pg"
    served_ws.mkdir(parents=True)
    homes = {name: runtime / (name[0] * 16) for name in ("abandoned", "copied", "fresh")}
    for home in homes.values():
        (home / "pgdata").mkdir(parents=True)
    (homes["abandoned"] / "workspace.json").write_text(
        json.dumps({"workspace": str(tmp_path / "deleted")}))
    # "copied": its workspace exists but now points at another home.
    (homes["copied"] / "workspace.json").write_text(json.dumps({"workspace": str(served_ws)}))
    (served_ws / pglocation.POINTER).write_text(json.dumps({
        "layout": pglocation.LAYOUT, "home": str(runtime / ("s" * 16)),
        "workspace": str(served_ws.resolve()), "password": "x"}))
    served = runtime / ("s" * 16)
    (served / "pgdata").mkdir(parents=True)
    (served / "workspace.json").write_text(json.dumps({"workspace": str(served_ws.resolve())}))
    running = runtime / ("0" * 16)
    (running / "pgdata").mkdir(parents=True)
    (running / "pgdata" / "postmaster.pid").write_text(f"{os.getpid()}\n")
    (runtime / "install-abc").mkdir()
    for home in (homes["abandoned"], homes["copied"], served, running):
        os.utime(home, (0, 0))

    removed = pglocation.remove_stale_clusters(runtime)

    assert sorted(removed) == sorted([homes["abandoned"], homes["copied"]])
    assert served.exists() and running.exists() and homes["fresh"].exists()
    assert (runtime / "install-abc").exists()


def test_an_older_layout_cluster_is_replaced(tmp_path: Path) -> None:
    """Clusters made before the Supabase roles (superuser ``postgres``) are unusable: the
    first start replaces them with a new one."""
    base = Path(tempfile.mkdtemp(prefix="converge-pgloc-", dir="/var/tmp"))
    base.chmod(0o755)
    data_dir = base / "ws" / "pg"
    old_home = data_dir / "postgres"
    (old_home / "pgdata").mkdir(parents=True)
    (old_home / "pgdata" / "leftover").write_text("old")
    (data_dir / pglocation.POINTER).write_text(json.dumps(
        {"home": str(old_home.resolve()), "password": "old"}))
    server = start_postgres(data_dir)
    try:
        assert not (old_home / "pgdata" / "leftover").exists()
        with psycopg.connect(server.database_url("layoutqzvtkwmrxabcde")) as conn:
            assert conn.execute("select current_user").fetchone() == ("postgres",)
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
