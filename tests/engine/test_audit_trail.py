"""The audit log anchored in the journal (issue 8, item 7), on SQLite and PostgreSQL.

The journal keeps the hash of every line converge writes, so a truncated, emptied,
deleted or consistently re-chained log is found without an external ``--head``, an
append to such a log is refused until ``reseal`` documents the loss, and a run killed
before it could log is logged (once) by the next append."""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from pathlib import Path

import pytest

from converge.engine import audit as audit_file
from converge.engine.audit import GENESIS, AuditEntry, append_audit
from converge.engine.audit_trail import AuditLogTampered, AuditTrail, open_trail
from converge.engine.journal import Journal, RunRecord, open_journal
from converge.errors import JournalError
from converge_sandbox.postgres import PostgresServer
from tests.engine._proc import kill_hard, start_worker, wait_ready


@pytest.fixture
def trail(journal: Journal, workspace_root: Path) -> AuditTrail:
    return open_trail(workspace_root, journal)


def run_once(journal: Journal, trail: AuditTrail, *, project: str = "journal",
             result: str = "succeeded", counts: dict[str, int] | None = None) -> RunRecord:
    run = journal.begin_run(project, systems=["vercel"], command="apply", actor="alice",
                            audit_log=trail.key)
    return trail.finish_run(run, result, {"created": 1} if counts is None else counts)  # type: ignore[arg-type]


@pytest.fixture
def logged(journal: Journal, trail: AuditTrail) -> list[RunRecord]:
    return [run_once(journal, trail, counts={"created": n}) for n in range(1, 5)]


def lines_of(trail: AuditTrail) -> list[bytes]:
    return trail.path.read_bytes().splitlines(keepends=True)


def docs_of(trail: AuditTrail) -> list[dict[str, object]]:
    return [json.loads(line) for line in lines_of(trail)]


def encode(doc: dict[str, object]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def rechain(docs: list[dict[str, object]]) -> bytes:
    prev, out = GENESIS, []
    for doc in docs:
        line = encode({**doc, "prev": prev})
        prev = hashlib.sha256(line).hexdigest()
        out.append(line + b"\n")
    return b"".join(out)


def problem_lines(trail: AuditTrail) -> list[int]:
    return [p.line for p in trail.verify().problems]


# -- every line is anchored ---------------------------------------------------------------


def test_each_finished_run_is_logged_with_its_facts_and_verifies(
        trail: AuditTrail, logged: list[RunRecord]) -> None:
    docs = docs_of(trail)
    report = trail.verify()
    assert report.ok and report.problems == [] and report.entries == 4
    assert [(d["kind"], d["run_id"], d["result"], d["counts"]) for d in docs] == [
        ("run", r.id, "succeeded", dict(r.counts)) for r in logged]
    assert [d["seq"] for d in docs] == [1, 2, 3, 4]


def test_a_run_finished_through_the_trail_is_logged_even_when_another_process_took_over(
        journal: Journal, trail: AuditTrail) -> None:
    first = run_once(journal, trail)
    again = trail.settle()
    assert again == []
    assert [d["run_id"] for d in docs_of(trail)] == [first.id]


# -- tampering is found without --head -----------------------------------------------------


def test_the_last_line_edited_is_found(trail: AuditTrail, logged: list[RunRecord]) -> None:
    lines = lines_of(trail)
    lines[-1] = lines[-1].replace(b'"succeeded"', b'"failed"')
    trail.path.write_bytes(b"".join(lines))
    problems = trail.verify().problems
    assert [p.line for p in problems] == [4]
    assert logged[-1].id in problems[0].message


def test_a_truncated_log_is_found_naming_the_missing_entries(
        trail: AuditTrail, logged: list[RunRecord]) -> None:
    trail.path.write_bytes(b"".join(lines_of(trail)[:2]))
    report = trail.verify()
    assert not report.ok
    text = "\n".join(p.message for p in report.problems)
    assert "truncated" in text and "#3" in text and "#4" in text
    assert logged[2].id in text and logged[3].id in text


@pytest.mark.parametrize(("how", "words"), [("emptied", "is empty"), ("deleted", "is missing")])
def test_an_emptied_or_deleted_log_is_found(
        trail: AuditTrail, logged: list[RunRecord], how: str, words: str) -> None:
    if how == "emptied":
        trail.path.write_bytes(b"")
    else:
        trail.path.unlink()
    report = trail.verify()
    assert not report.ok
    assert report.problems[0].line == 0
    assert words in report.problems[0].message and "4 entries" in report.problems[0].message


def test_a_fully_rechained_edit_of_counts_is_found_naming_the_run(
        trail: AuditTrail, logged: list[RunRecord]) -> None:
    docs = docs_of(trail)
    docs[1]["counts"] = {"created": 0}
    trail.path.write_bytes(rechain(docs))
    assert audit_file.verify_audit_log(trail.path) == []  # the chain alone is fooled
    problems = trail.verify().problems
    assert problems and problems[0].line == 2
    assert logged[1].id in problems[0].message and "counts" in problems[0].message


def test_a_fully_rechained_removal_is_found_naming_the_run(
        trail: AuditTrail, logged: list[RunRecord]) -> None:
    docs = docs_of(trail)
    del docs[1]
    for number, doc in enumerate(docs, start=1):
        doc["seq"] = number
    trail.path.write_bytes(rechain(docs))
    assert audit_file.verify_audit_log(trail.path) == []
    text = "\n".join(str(p) for p in trail.verify().problems)
    assert logged[1].id in text


def test_a_forged_line_appended_is_found(trail: AuditTrail, logged: list[RunRecord]) -> None:
    append_audit(trail.path, AuditEntry(run_id="forged", project="journal", systems=["vercel"],
                                        command="apply", actor="mallory", result="succeeded"))
    problems = trail.verify().problems
    assert [p.line for p in problems] == [5]
    assert "not written by converge" in problems[0].message


def test_an_external_head_still_works(trail: AuditTrail, logged: list[RunRecord]) -> None:
    last = lines_of(trail)[-1].rstrip(b"\n")
    assert trail.verify(head=hashlib.sha256(last).hexdigest()).ok
    assert not trail.verify(head="0" * 64).ok


# -- appends refuse a log that lost its head -----------------------------------------------


@pytest.mark.parametrize("how", ["edited", "truncated", "emptied", "deleted"])
def test_appending_to_a_log_that_lost_its_head_is_refused_every_time(
        journal: Journal, trail: AuditTrail, logged: list[RunRecord], how: str) -> None:
    lines = lines_of(trail)
    if how == "edited":
        trail.path.write_bytes(b"".join(lines[:-1]) + lines[-1].replace(b"alice", b"alicf"))
    elif how == "truncated":
        trail.path.write_bytes(b"".join(lines[:-1]))
    elif how == "emptied":
        trail.path.write_bytes(b"")
    else:
        trail.path.unlink()
    before = trail.path.read_bytes() if trail.path.exists() else None
    head = hashlib.sha256(lines[-1].rstrip(b"\n")).hexdigest()

    with pytest.raises(AuditLogTampered) as caught:
        trail.check()
    with pytest.raises(AuditLogTampered):
        run_once(journal, trail)

    assert caught.value.message == (
        f"reconciliation.log no longer ends with the line the journal recorded (seq 4, sha "
        f"{head[:12]}…): it was truncated or edited; run converge audit verify")
    assert caught.value.exit_code == 1 and "converge audit reseal" in caught.value.hint
    assert (trail.path.read_bytes() if trail.path.exists() else None) == before
    assert not trail.verify().ok


def test_a_reseal_documents_the_loss_and_lets_appends_continue(
        journal: Journal, trail: AuditTrail, logged: list[RunRecord]) -> None:
    lines = lines_of(trail)
    trail.path.write_bytes(b"".join(lines[:2]))
    refused = logged[-1]

    seal = trail.reseal("disk restored from backup", actor="ops")
    after = run_once(journal, trail)
    docs = docs_of(trail)
    report = trail.verify()

    assert report.ok, report.problems
    assert docs[2]["kind"] == "reseal" and docs[2]["seq"] == 5
    assert docs[2]["recorded"] == {"seq": 4, "sha": hashlib.sha256(
        lines[3].rstrip(b"\n")).hexdigest()}
    assert docs[2]["found"] == {"seq": 2, "sha": hashlib.sha256(
        lines[1].rstrip(b"\n")).hexdigest()}
    assert (docs[2]["reason"], docs[2]["actor"]) == ("disk restored from backup", "ops")
    assert seal.lost == (3, 4)
    assert [d["run_id"] for d in docs[3:]] == [after.id]
    notes = "\n".join(report.notes)
    assert "#3..#4" in notes and "disk restored from backup" in notes and "ops" in notes
    assert refused.id in notes


def test_a_deleted_log_is_resealed_into_a_new_file_that_verifies(
        journal: Journal, trail: AuditTrail, logged: list[RunRecord]) -> None:
    trail.path.unlink()
    trail.reseal("log rotated away by mistake", actor="ops")
    run_once(journal, trail)
    docs = docs_of(trail)
    assert [d["kind"] for d in docs] == ["reseal", "run"]
    assert docs[0]["prev"] == GENESIS and docs[0]["found"] is None
    assert trail.verify().ok


def test_a_reseal_is_refused_when_nothing_was_lost_or_no_reason_is_given(
        trail: AuditTrail, logged: list[RunRecord]) -> None:
    with pytest.raises(JournalError, match="nothing to reseal"):
        trail.reseal("just because", actor="ops")
    trail.path.write_bytes(b"")
    with pytest.raises(JournalError, match="reason"):
        trail.reseal("  ", actor="ops")


def test_lines_before_a_reseal_edited_afterwards_are_found(
        journal: Journal, trail: AuditTrail, logged: list[RunRecord]) -> None:
    trail.path.write_bytes(b"".join(lines_of(trail)[:2]))
    trail.reseal("backup", actor="ops")
    run_once(journal, trail)
    lines = lines_of(trail)
    lines[0] = lines[0].replace(b'"created":1', b'"created":7')
    trail.path.write_bytes(b"".join(lines))
    problems = trail.verify().problems
    assert problems and problems[0].line == 1


def test_a_forged_reseal_line_is_not_taken_for_one(
        trail: AuditTrail, logged: list[RunRecord]) -> None:
    docs = docs_of(trail)[:2]
    docs.append({"kind": "reseal", "seq": 5, "actor": "mallory", "reason": "x",
                 "recorded": None, "found": None, "before": "0" * 64, "time": "2030"})
    trail.path.write_bytes(rechain(docs))
    assert not trail.verify().ok


# -- crashes between the journal and the file ----------------------------------------------


def test_a_crash_after_the_intent_and_before_the_write_is_recovered(
        journal: Journal, trail: AuditTrail, logged: list[RunRecord],
        monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*_: object) -> None:
        raise KeyboardInterrupt

    run = journal.begin_run("journal", systems=["vercel"], command="apply", actor="alice",
                            audit_log=trail.key)
    with monkeypatch.context() as patch:
        patch.setattr(audit_file.LogFile, "write_line", crash)
        with pytest.raises(KeyboardInterrupt):
            trail.finish_run(run, "succeeded", {"created": 9})
    assert len(lines_of(trail)) == 4
    report = trail.verify()
    assert report.ok  # an intent not written is no tampering
    assert any(run.id in note and "not logged yet" in note for note in report.notes)
    trail.check()
    later = run_once(journal, trail)
    assert [d["run_id"] for d in docs_of(trail)[4:]] == [run.id, later.id]
    assert trail.verify().ok


def test_a_crash_after_the_write_and_before_its_record_is_recovered(
        journal: Journal, trail: AuditTrail, logged: list[RunRecord],
        monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*_: object) -> None:
        raise KeyboardInterrupt

    run = journal.begin_run("journal", systems=["vercel"], command="apply", actor="alice",
                            audit_log=trail.key)
    with monkeypatch.context() as patch:
        patch.setattr(Journal, "audit_written", crash)
        with pytest.raises(KeyboardInterrupt):
            trail.finish_run(run, "succeeded", {"created": 9})
    assert len(lines_of(trail)) == 5
    assert trail.verify().ok
    later = run_once(journal, trail)
    assert [d["run_id"] for d in docs_of(trail)[4:]] == [run.id, later.id]
    assert trail.verify().ok


def test_a_torn_write_of_an_intent_is_cut_off_by_the_next_append(
        journal: Journal, trail: AuditTrail, logged: list[RunRecord],
        monkeypatch: pytest.MonkeyPatch) -> None:
    original = audit_file.LogFile.write_line

    def torn(self: audit_file.LogFile, data: bytes) -> None:
        original(self, data[: len(data) // 2])  # the disk filled up half-way
        raise KeyboardInterrupt

    run = journal.begin_run("journal", systems=["vercel"], command="apply", actor="alice",
                            audit_log=trail.key)
    with monkeypatch.context() as patch:
        patch.setattr(audit_file.LogFile, "write_line", torn)
        with pytest.raises(KeyboardInterrupt):
            trail.finish_run(run, "succeeded", {"created": 9})
    run_once(journal, trail)
    assert trail.verify().ok
    assert [d["seq"] for d in docs_of(trail)] == [1, 2, 3, 4, 5, 6]


# -- killed runs ---------------------------------------------------------------------------


def test_a_killed_run_is_logged_once_as_interrupted_by_the_next_append(
        state: str, journal: Journal, trail: AuditTrail, workspace_root: Path) -> None:
    worker = start_worker("run", str(workspace_root), "journal", state=state)
    try:
        (run_id,) = wait_ready(worker)
    finally:
        kill_hard(worker)
    assert trail.verify().ok  # not logged yet, and not a tampering
    assert any(run_id in note for note in trail.verify().notes)

    run_once(journal, trail, project="other")
    run_once(journal, trail, project="other")

    docs = [d for d in docs_of(trail) if d["run_id"] == run_id]
    assert [(d["result"], d["actor"]) for d in docs] == [("interrupted", "worker")]
    killed = journal.get_run(run_id)
    assert killed is not None and killed.result == "interrupted"
    assert trail.verify().ok


def test_a_run_interrupted_in_process_is_logged_at_once(
        journal: Journal, trail: AuditTrail) -> None:
    run = journal.begin_run("journal", systems=["vercel"], command="apply", actor="alice",
                            audit_log=trail.key)
    trail.finish_run(run, "interrupted", {"created": 1})
    assert [(d["run_id"], d["result"]) for d in docs_of(trail)] == [(run.id, "interrupted")]


# -- adoption, keys, concurrency -----------------------------------------------------------


def test_a_log_written_before_the_journal_kept_heads_is_adopted_then_protected(
        journal: Journal, trail: AuditTrail) -> None:
    for number in range(3):
        append_audit(trail.path, AuditEntry(run_id=f"old-{number}", project="journal",
                                            systems=["vercel"], command="apply", actor="bob",
                                            result="succeeded"))
    report = trail.verify()
    assert report.ok and any("no head" in note for note in report.notes)
    run_once(journal, trail)
    assert trail.verify().ok and trail.verify().notes == []
    trail.path.write_bytes(b"".join(lines_of(trail)[:2]))
    assert not trail.verify().ok


def test_a_broken_unanchored_log_is_not_adopted(journal: Journal, trail: AuditTrail) -> None:
    for number in range(3):
        append_audit(trail.path, AuditEntry(run_id=f"old-{number}", project="journal",
                                            systems=["vercel"], command="apply", actor="bob",
                                            result="succeeded"))
    lines = lines_of(trail)
    trail.path.write_bytes(lines[0] + lines[2])
    with pytest.raises(AuditLogTampered, match="audit verify"):
        run_once(journal, trail)
    trail.reseal("imported an old log with a known gap", actor="ops")
    run_once(journal, trail)
    assert trail.verify().ok


def test_threads_finishing_runs_at_once_keep_one_anchored_chain(
        journal: Journal, trail: AuditTrail) -> None:
    errors: list[BaseException] = []

    def work(project: str) -> None:
        try:
            for _ in range(5):
                run_once(journal, trail, project=project)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"p{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert trail.verify().ok and trail.verify().entries == 20


def test_a_shared_postgresql_state_keeps_one_head_per_workspace(
        journal_pg: PostgresServer, tmp_path: Path) -> None:
    state = journal_pg.database_url("jt_" + uuid.uuid4().hex[:16])
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with open_journal(state, tmp_path / "a") as ja, open_journal(state, tmp_path / "b") as jb:
        a, b = open_trail(tmp_path / "a", ja), open_trail(tmp_path / "b", jb)
        assert a.key != b.key
        run_once(ja, a)
        run_once(jb, b)
        run_once(jb, b)
        assert a.verify().ok and a.verify().entries == 1
        assert b.verify().ok and b.verify().entries == 2
        b.path.unlink()
        assert a.verify().ok and not b.verify().ok


def test_the_journal_holds_hashes_not_lines(journal: Journal, trail: AuditTrail,
                                            logged: list[RunRecord]) -> None:
    rows = journal.audit_lines(trail.key)
    assert [(r.seq, r.state) for r in rows] == [(n, "written") for n in range(1, 5)]
    assert [r.sha for r in rows] == [hashlib.sha256(line.rstrip(b"\n")).hexdigest()
                                     for line in lines_of(trail)]
    assert [r.run_id for r in rows] == [r.id for r in logged]


def test_a_version_1_journal_is_migrated_keeping_its_runs(state: str, tmp_path: Path) -> None:
    from converge.engine.journal_sql import _ID_PK, MIGRATIONS, SCHEMA_VERSION

    root = tmp_path / "old"
    root.mkdir()
    with open_journal(state, root) as fresh:  # start over at version 1, as older converge left it
        db = fresh.db
        db.execute("DROP TABLE converge_reports")
        db.execute("DROP TABLE converge_credentials")
        db.execute("DROP TABLE converge_audit_lines")
        db.execute("DROP TABLE converge_operations")
        db.execute("DROP TABLE converge_managed_objects")
        db.execute("DROP TABLE converge_lock_holders")
        db.execute("DROP TABLE converge_runs")
        for statement in MIGRATIONS[0]:
            db.execute(statement.format(id_pk=_ID_PK[db.dialect]))
        db.execute("UPDATE converge_schema_version SET version = 1")
        db.execute(
            "INSERT INTO converge_runs (id, project, systems, command, actor, started_at, "
            "result, counts, host, pid) VALUES ('01OLD', 'journal', '[]', 'apply', 'bob', "
            "'2025-01-01T00:00:00.000000Z', 'succeeded', '{}', 'h', 1)")
    with open_journal(state, root) as upgraded:
        assert upgraded.db.execute("SELECT version FROM converge_schema_version") == [
            (SCHEMA_VERSION,)]
        old = upgraded.get_run("01OLD")
        assert old is not None and old.result == "succeeded"
        trail = open_trail(root, upgraded)
        run_once(upgraded, trail)
        assert trail.verify().ok
