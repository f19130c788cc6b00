"""The project lock: one run at a time per project, exit 3, dead holders recovered."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from converge.engine.journal import Journal, open_journal
from converge.engine.locks import acquire_lock, lock_path, read_lock_holder
from converge.errors import JournalError, LockHeldError
from converge_sandbox.postgres import PostgresServer
from tests.engine._proc import kill_hard, start_worker, wait_ready


@pytest.fixture
def target(journal: Journal) -> Path | Journal:
    """The lock target: the state folder for SQLite, the journal itself for PostgreSQL."""
    return journal if journal.backend == "postgresql" else journal.state_dir


def test_a_held_lock_refuses_a_second_run_with_exit_3_naming_the_holder(
        target: Path | Journal) -> None:
    with acquire_lock(target, "journal", command="apply", actor="alice") as lock:
        lock.set_run_id("01RUN")
        with pytest.raises(LockHeldError) as caught, \
                acquire_lock(target, "journal", command="plan"):
            pass
    error = caught.value
    assert error.exit_code == 3
    assert error.message.startswith("journal is locked by apply (pid ")
    assert f"pid {lock.holder.pid} on {lock.holder.host}, since {lock.holder.started}" in (
        error.message)
    assert "run 01RUN" in error.message


def test_other_projects_are_not_blocked_and_a_released_lock_is_free(
        target: Path | Journal) -> None:
    with acquire_lock(target, "journal", command="apply"), \
            acquire_lock(target, "billing", command="apply") as other:
        assert other.recovered is None
        assert read_lock_holder(target, "journal") is not None
    assert read_lock_holder(target, "journal") is None
    with acquire_lock(target, "journal", command="apply") as again:
        assert again.recovered is None  # a clean release is not reported as recovered


def test_a_lock_held_by_another_process_names_that_process(
        state: str, workspace_root: Path, target: Path | Journal) -> None:
    worker = start_worker("lock", str(workspace_root), "journal", state=state)
    try:
        wait_ready(worker)
        holder = read_lock_holder(target, "journal")
        assert holder is not None and (holder.pid, holder.run_id) == (worker.pid,
                                                                      "RUN-OF-WORKER")
        held_by_worker = f"locked by apply \\(pid {worker.pid} on "
        with pytest.raises(LockHeldError, match=held_by_worker), \
                acquire_lock(target, "journal", command="apply", wait_s=0.2):
            pass
    finally:
        kill_hard(worker)


def test_the_lock_of_a_killed_holder_is_recovered_and_reported(
        state: str, workspace_root: Path, target: Path | Journal) -> None:
    worker = start_worker("lock", str(workspace_root), "journal", state=state)
    wait_ready(worker)
    kill_hard(worker)
    assert read_lock_holder(target, "journal") is None
    with acquire_lock(target, "journal", command="apply") as lock:
        assert lock.recovered is not None
        assert (lock.recovered.pid, lock.recovered.run_id) == (worker.pid, "RUN-OF-WORKER")


def test_waiting_gets_the_lock_once_it_is_released(tmp_path: Path) -> None:
    worker = start_worker("lock", str(tmp_path), "journal")
    wait_ready(worker)
    kill_hard(worker)
    with acquire_lock(tmp_path / ".converge", "journal", command="apply", wait_s=2) as lock:
        assert lock.path == lock_path(tmp_path / ".converge", "journal")


def test_a_project_name_that_could_escape_the_lock_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="invalid project name"), \
            acquire_lock(tmp_path, "../etc", command="apply"):
        pass


@pytest.fixture
def shared_pg_url(journal_pg: PostgresServer) -> str:
    return journal_pg.database_url("jt_" + uuid.uuid4().hex[:16])


@pytest.fixture
def two_machines(shared_pg_url: str, tmp_path: Path) -> Iterator[tuple[Journal, Journal]]:
    """Two workspaces (no shared lock files) sharing one PostgreSQL team state."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with open_journal(shared_pg_url, tmp_path / "a") as a, \
            open_journal(shared_pg_url, tmp_path / "b") as b:
        yield a, b


def test_machines_sharing_a_postgresql_state_exclude_each_other(
        two_machines: tuple[Journal, Journal]) -> None:
    a, b = two_machines
    with acquire_lock(a, "journal", command="apply") as lock:
        lock.set_run_id("RUN-A")
        with pytest.raises(LockHeldError, match="run RUN-A") as caught, \
                acquire_lock(b, "journal", command="apply"):
            pass
        assert caught.value.exit_code == 3
        holder = read_lock_holder(b, "journal")
        assert holder is not None and holder.run_id == "RUN-A"
    with acquire_lock(b, "journal", command="apply") as lock_b:
        assert lock_b.recovered is None


def test_a_killed_holder_on_another_machine_is_recovered_through_postgresql(
        shared_pg_url: str, two_machines: tuple[Journal, Journal], tmp_path: Path) -> None:
    _, b = two_machines
    worker = start_worker("lock", str(tmp_path / "a"), "journal", state=shared_pg_url)
    wait_ready(worker)
    with pytest.raises(LockHeldError, match=f"pid {worker.pid} .*run RUN-OF-WORKER"), \
            acquire_lock(b, "journal", command="apply"):
        pass
    kill_hard(worker)
    with acquire_lock(b, "journal", command="apply", wait_s=5) as lock:
        assert lock.recovered is not None and lock.recovered.pid == worker.pid
    assert not (tmp_path / "b" / ".converge" / "locks" / "journal.lock").read_text()
