"""The run journal, the same suite on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from converge.engine.journal import ChangeRef, Journal, open_journal
from converge.engine.journal_sql import SCHEMA_VERSION
from converge.errors import JournalError
from tests.engine._proc import kill_hard, start_worker, wait_ready

FP = "hmac-sha256:" + "ab12" * 16


def _begin(journal: Journal, project: str = "journal") -> str:
    return journal.begin_run(project, systems=["vercel", "infisical"], command="apply",
                             actor="alice@laptop").id


def test_run_is_recorded_with_its_inputs_and_finishes_with_counts(journal: Journal) -> None:
    run = journal.begin_run("journal", systems=["vercel", "infisical"], command="apply",
                            actor="alice@laptop", git_revision="abc123",
                            decision_id="sha256:d", manifest_digest="sha256:m")
    assert run.result == "running" and run.systems == ("infisical", "vercel")
    finished = journal.finish_run(run, "succeeded", {"create": 2, "update": 1})
    stored = journal.get_run(run.id)
    assert stored == finished
    assert (stored.result, dict(stored.counts), stored.git_revision, stored.decision_id,
            stored.manifest_digest) == ("succeeded", {"create": 2, "update": 1}, "abc123",
                                        "sha256:d", "sha256:m")
    assert stored.finished_at is not None and stored.finished_at >= stored.started_at
    with pytest.raises(JournalError, match="not running"):
        journal.finish_run(run, "failed")


def test_intent_then_done_owns_the_object_with_its_id_marker_and_fingerprint(
        journal: Journal) -> None:
    run = journal.begin_run("journal", systems=["vercel"], command="apply", actor="a",
                            decision_id="sha256:dec")
    op = journal.record_intent(run, ChangeRef("vercel", "env", "API_URL", "create", "k1"))
    assert [o.state for o in journal.operations(run)] == ["intent"]
    journal.record_done(op, vendor_id="env_123", marker="1700000000", fingerprint=FP)
    [stored] = journal.operations(run)
    assert (stored.seq, stored.state, stored.vendor_id, stored.marker, stored.fingerprint) == (
        1, "done", "env_123", "1700000000", FP)
    [owned] = journal.managed_objects("journal", "vercel")
    assert (owned.name, owned.vendor_id, owned.marker, owned.decision_id, owned.run_id) == (
        "API_URL", "env_123", "1700000000", "sha256:dec", run.id)
    assert journal.managed_objects("journal", "infisical") == []


def test_failed_operation_keeps_a_one_line_reason_and_owns_nothing(journal: Journal) -> None:
    run = _begin(journal)
    op = journal.record_intent(run, ChangeRef("infisical", "role", "deployer", "create", "k"))
    journal.record_failed(op, "Infisical refused POST /roles (400)\ntraceback noise")
    [stored] = journal.operations(run)
    assert (stored.state, stored.reason) == ("failed", "Infisical refused POST /roles (400)")
    assert journal.managed_objects("journal") == []
    with pytest.raises(JournalError, match="is failed; it cannot become done"):
        journal.record_done(op, vendor_id="x")


def test_delete_is_two_phase_and_ownership_is_kept_until_confirmed(journal: Journal) -> None:
    journal.upsert_managed("journal", "vercel", "env", "OLD", vendor_id="env_9", marker="5")
    run = _begin(journal)
    op = journal.record_intent(run, ChangeRef("vercel", "env", "OLD", "delete", "k-old"))
    with pytest.raises(JournalError, match="is intent; it cannot become forgotten"):
        journal.record_forgotten(op)
    journal.record_deleted(op)
    with pytest.raises(JournalError, match="unconfirmed delete"):
        journal.forget_managed("journal", "vercel", "env", "OLD")
    assert [m.name for m in journal.managed_objects("journal")] == ["OLD"]
    journal.record_confirmed(op)
    assert [m.name for m in journal.managed_objects("journal")] == ["OLD"]
    journal.record_forgotten(op)
    assert journal.managed_objects("journal") == []
    assert [o.state for o in journal.operations(run)] == ["forgotten"]


def test_a_delete_cannot_be_marked_done_nor_an_update_deleted(journal: Journal) -> None:
    run = _begin(journal)
    delete = journal.record_intent(run, ChangeRef("vercel", "env", "X", "delete", "k1"))
    update = journal.record_intent(run, ChangeRef("vercel", "env", "Y", "update", "k2"))
    with pytest.raises(JournalError, match="cannot become done"):
        journal.record_done(delete)
    with pytest.raises(JournalError, match="cannot become deleted"):
        journal.record_deleted(update)
    with pytest.raises(JournalError, match="no journal operation"):
        journal.record_done(999_999)
    with pytest.raises(JournalError, match="unknown change action"):
        journal.record_intent(run, ChangeRef("vercel", "env", "Z", "destroy", "k3"))


def test_a_fingerprint_that_is_not_a_keyed_hash_is_refused(journal: Journal) -> None:
    run = _begin(journal)
    op = journal.record_intent(run, ChangeRef("vercel", "env", "DB_PASSWORD", "create", "k"))
    with pytest.raises(JournalError, match="not a keyed hash") as caught:
        journal.record_done(op, vendor_id="env_1", fingerprint="hunter2-the-password")
    assert "hunter2" not in str(caught.value)
    assert journal.operations(run)[0].state == "intent"
    assert journal.managed_objects("journal") == []


def test_operations_need_a_running_run(journal: Journal) -> None:
    run = _begin(journal)
    journal.finish_run(run, "failed")
    with pytest.raises(JournalError, match="not running"):
        journal.record_intent(run, ChangeRef("vercel", "env", "A", "create", "k"))


def test_runs_are_listed_newest_first_per_project(journal: Journal) -> None:
    first = _begin(journal)
    journal.finish_run(first, "succeeded")
    second = _begin(journal)
    journal.finish_run(second, "failed")
    other = _begin(journal, project="billing")
    assert [r.id for r in journal.last_runs("journal")] == [second, first]
    assert [r.id for r in journal.last_runs("journal", limit=1)] == [second]
    assert [r.id for r in journal.last_runs("billing")] == [other]
    best = journal.last_successful_run("journal")
    assert best is not None and best.id == first
    assert journal.last_successful_run("journal", command="rollback") is None
    assert journal.last_successful_run("billing") is None


def test_a_live_run_is_running_and_its_open_operations_are_not_unfinished(
        journal: Journal) -> None:
    run = _begin(journal)
    journal.record_intent(run, ChangeRef("vercel", "env", "A", "update", "k"))
    assert journal.last_runs("journal")[0].result == "running"
    assert journal.unfinished_operations("journal") == []


def test_a_killed_run_is_interrupted_and_its_open_operations_are_unfinished(
        state: str, workspace_root: Path, journal: Journal) -> None:
    worker = start_worker("intent", str(workspace_root), "journal", state=state)
    run_id, update, delete = wait_ready(worker)
    kill_hard(worker)

    status = journal.project_status("journal")
    assert [(r.id, r.result, r.resumable) for r in status.runs] == [(run_id, "interrupted",
                                                                      True)]
    assert [(o.id, o.name, o.state) for o in status.unfinished] == [
        (int(update), "B", "intent"), (int(delete), "C", "deleted")]
    assert status.needs_resume
    # Ownership survives the crash: A was applied, C's delete is unconfirmed.
    assert [m.name for m in journal.managed_objects("journal")] == ["A"]

    resumed = journal.begin_run("journal", systems=["vercel"], command="apply", actor="a")
    stored = journal.get_run(run_id)
    assert stored is not None and stored.result == "interrupted" and stored.finished_at
    journal.finish_run(resumed, "succeeded")
    assert journal.unfinished_operations("journal") == []
    settled = {o.id: o.resolved_by for o in journal.operations(run_id)}
    assert settled[int(update)] == resumed.id and settled[int(delete)] == resumed.id


def test_resolving_one_operation_leaves_the_others_unfinished(journal: Journal) -> None:
    run = _begin(journal)
    first = journal.record_intent(run, ChangeRef("vercel", "env", "A", "update", "ka"))
    journal.record_intent(run, ChangeRef("vercel", "env", "B", "update", "kb"))
    journal.finish_run(run, "failed")
    later = _begin(journal)
    journal.resolve_operations([first], later)
    assert [o.name for o in journal.unfinished_operations("journal")] == ["B"]


def test_a_success_only_settles_operations_of_its_own_systems(journal: Journal) -> None:
    run = _begin(journal)
    journal.record_intent(run, ChangeRef("supabase", "rls", "public.notes", "update", "k"))
    journal.finish_run(run, "failed")
    vercel_only = journal.begin_run("journal", systems=["vercel"], command="apply", actor="a")
    journal.finish_run(vercel_only, "succeeded")
    assert [o.name for o in journal.unfinished_operations("journal")] == ["public.notes"]


def test_reopening_keeps_data_and_records_the_schema_version(
        state: str, workspace_root: Path) -> None:
    with open_journal(state, workspace_root) as journal:
        run = _begin(journal)
        assert journal.db.execute("SELECT version FROM converge_schema_version") == [
            (SCHEMA_VERSION,)]
    with open_journal(state, workspace_root) as again:
        assert [r.id for r in again.last_runs("journal")] == [run]
        assert again.db.execute("SELECT count(*) FROM converge_schema_version") == [(1,)]


def test_a_journal_from_a_newer_converge_is_refused(state: str, workspace_root: Path) -> None:
    with open_journal(state, workspace_root) as journal:
        journal.db.execute("UPDATE converge_schema_version SET version = ?",
                           (SCHEMA_VERSION + 1,))
    with pytest.raises(JournalError, match="newer than this converge"):
        open_journal(state, workspace_root)


def test_several_processes_write_the_same_journal(state: str, workspace_root: Path,
                                                  journal: Journal) -> None:
    workers = [start_worker("runs", str(workspace_root), f"p{n}", "5", state=state)
               for n in range(4)]
    for worker in workers:
        wait_ready(worker)
        worker.communicate(timeout=30)
        assert worker.returncode == 0
    for n in range(4):
        runs = journal.last_runs(f"p{n}")
        assert [r.result for r in runs] == ["succeeded"] * 5
        assert len(journal.managed_objects(f"p{n}")) == 5


def test_sqlite_state_lives_in_the_workspace_by_default(workspace_root: Path) -> None:
    with open_journal(".converge/state.db", workspace_root) as journal:
        assert journal.backend == "sqlite"
        assert journal.state_dir == workspace_root / ".converge"
    assert (workspace_root / ".converge" / "state.db").is_file()


def test_threads_sharing_one_journal_get_distinct_sequence_numbers(journal: Journal) -> None:
    run = _begin(journal)

    def record(thread: int) -> None:
        for number in range(10):
            op = journal.record_intent(run, ChangeRef("vercel", "env", f"T{thread}_{number}",
                                                      "create", f"k{thread}-{number}"))
            journal.record_done(op, vendor_id=f"id{thread}-{number}")

    threads = [threading.Thread(target=record, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [o.seq for o in journal.operations(run)] == list(range(1, 41))
    assert len(journal.managed_objects("journal")) == 40


def test_a_live_run_of_this_process_stays_running_when_its_rollback_begins(
        journal: Journal) -> None:
    apply = _begin(journal)
    rollback = journal.begin_run("journal", systems=["vercel"], command="rollback", actor="a")
    assert [(r.id, r.result) for r in journal.last_runs("journal")] == [
        (rollback.id, "running"), (apply, "running")]


def test_a_finished_run_gets_the_git_revision_committed_after_it(journal: Journal) -> None:
    """``apply --commit`` commits the artifacts once the run succeeded, then records that
    commit as the run's revision (a restore point for ``rollback --to <run id>``)."""
    run = journal.begin_run("journal", systems=["vercel"], command="apply", actor="a")
    journal.finish_run(run, "succeeded", {})

    recorded = journal.record_git_revision(run, "0123abcd" * 5)

    assert recorded.git_revision == "0123abcd" * 5
    stored = journal.get_run(run.id)
    assert stored is not None and stored.git_revision == "0123abcd" * 5
    assert journal.last_runs("journal", 1)[0].git_revision == "0123abcd" * 5
    journal.record_git_revision(run, "0123abcd" * 5)  # the same revision again: no change
    with pytest.raises(JournalError, match="already records git revision 0123abcd"):
        journal.record_git_revision(run, "fedc" * 10)


def test_a_git_revision_is_recorded_only_for_a_succeeded_run(journal: Journal) -> None:
    running = journal.begin_run("journal", systems=["vercel"], command="apply", actor="a")
    with pytest.raises(JournalError, match="has not succeeded"):
        journal.record_git_revision(running, "ab" * 20)
    journal.finish_run(running, "failed", {})
    with pytest.raises(JournalError, match="has not succeeded"):
        journal.record_git_revision(running, "ab" * 20)
    with pytest.raises(JournalError, match="no run"):
        journal.record_git_revision("01NOSUCHRUN", "ab" * 20)
    with pytest.raises(JournalError, match="git_revision"):
        journal.record_git_revision(running, "ab\ncd")
