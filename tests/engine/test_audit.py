"""The audit log: one chained JSON line per run; tampering is found with its line."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from converge.engine.audit import (
    GENESIS,
    AuditEntry,
    append_audit,
    audit_log_path,
    current_actor,
    line_hash,
    verify_audit_log,
)
from converge.engine.journal import Journal
from tests.engine._proc import start_worker, wait_ready


def _entry(number: int, project: str = "journal") -> AuditEntry:
    return AuditEntry(run_id=f"run-{number}", project=project, systems=["vercel", "infisical"],
                      command="apply", actor="alice@laptop", result="succeeded",
                      counts={"create": number}, decision_id="sha256:dec",
                      manifest_digest="sha256:man")


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "reconciliation.log"
    for number in range(1, 6):
        append_audit(path, _entry(number))
    return path


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def _problem_lines(path: Path) -> list[int]:
    return [p.line for p in verify_audit_log(path)]


def test_each_line_chains_to_the_one_before_and_the_log_verifies(log: Path) -> None:
    lines = [line.rstrip("\n").encode() for line in _lines(log)]
    docs = [json.loads(line) for line in lines]
    assert [d["seq"] for d in docs] == [1, 2, 3, 4, 5]
    assert docs[0]["prev"] == GENESIS
    assert [d["prev"] for d in docs[1:]] == [line_hash(line) for line in lines[:-1]]
    assert verify_audit_log(log) == []
    assert verify_audit_log(log, head=line_hash(lines[-1])) == []


def test_an_entry_holds_the_run_facts_and_nothing_else(log: Path) -> None:
    doc = json.loads(_lines(log)[1])
    assert set(doc) == {"kind", "seq", "prev", "time", "run_id", "project", "systems",
                        "command", "actor", "result", "counts", "decision_id",
                        "manifest_digest", "git_revision"}
    assert doc["kind"] == "run"
    assert (doc["project"], doc["systems"], doc["counts"], doc["result"]) == (
        "journal", ["infisical", "vercel"], {"create": 2}, "succeeded")
    assert doc["time"].endswith("Z") and doc["time"][:2] == "20"


def test_an_edited_field_is_found_on_its_line(log: Path) -> None:
    lines = _lines(log)
    lines[1] = lines[1].replace('"result":"succeeded"', '"result":"failed"')
    log.write_text("".join(lines))
    problems = verify_audit_log(log)
    assert [p.line for p in problems] == [2]
    assert "changed after it was written" in problems[0].message


def test_a_removed_line_is_found_where_it_was(log: Path) -> None:
    lines = _lines(log)
    del lines[2]
    log.write_text("".join(lines))
    problems = verify_audit_log(log)
    assert [p.line for p in problems] == [3]
    assert "entry #3 before this line was removed" in problems[0].message


def test_two_swapped_lines_are_both_found(log: Path) -> None:
    lines = _lines(log)
    lines[1], lines[2] = lines[2], lines[1]
    log.write_text("".join(lines))
    problems = verify_audit_log(log)
    assert [p.line for p in problems] == [2, 3]
    assert all("reordered" in p.message for p in problems)


def test_an_inserted_copy_of_a_line_is_found(log: Path) -> None:
    lines = _lines(log)
    lines.insert(2, lines[1])
    log.write_text("".join(lines))
    problems = verify_audit_log(log)
    assert [p.line for p in problems] == [3]
    assert "appears twice" in problems[0].message


def test_an_inserted_foreign_line_is_found(log: Path) -> None:
    lines = _lines(log)
    lines.insert(1, '{"note": "looks harmless"}\n')
    log.write_text("".join(lines))
    assert _problem_lines(log) == [2]


def test_the_last_line_edited_or_dropped_is_found_against_a_recorded_head(log: Path) -> None:
    head = line_hash(_lines(log)[-1].rstrip("\n").encode())
    lines = _lines(log)
    log.write_text("".join(lines[:-1]))
    assert verify_audit_log(log) == []  # a keyless chain cannot see this alone
    assert [p.line for p in verify_audit_log(log, head=head)] == [4]


def test_a_torn_last_line_is_reported_and_later_appends_still_chain(log: Path) -> None:
    with log.open("a") as handle:
        handle.write('{"seq":6,"prev":"')
    append_audit(log, _entry(7))
    problems = verify_audit_log(log)
    assert [p.line for p in problems] == [6]
    assert json.loads(_lines(log)[6])["seq"] == 7


def test_concurrent_writers_keep_one_unbroken_chain(tmp_path: Path) -> None:
    path = tmp_path / "reconciliation.log"
    threads = [threading.Thread(target=lambda n=n: [append_audit(path, _entry(i, f"t{n}"))
                                                   for i in range(10)]) for n in range(4)]
    workers = [start_worker("append", str(tmp_path), f"p{n}", "10") for n in range(3)]
    for thread in threads:
        thread.start()
    for worker in workers:
        wait_ready(worker)
        worker.communicate(timeout=30)
    for thread in threads:
        thread.join()
    assert len(_lines(path)) == 70
    assert verify_audit_log(path) == []


def test_an_entry_is_built_from_a_finished_run(journal: Journal, tmp_path: Path) -> None:
    run = journal.begin_run("journal", systems=["supabase"], command="rollback", actor="bob",
                            git_revision="deadbeef")
    finished = journal.finish_run(run, "failed", {"update": 3})
    path = audit_log_path(tmp_path, "logs/reconciliation.log")
    append_audit(path, finished)
    doc = json.loads(path.read_text())
    assert (doc["run_id"], doc["command"], doc["actor"], doc["result"], doc["counts"],
            doc["git_revision"]) == (run.id, "rollback", "bob", "failed", {"update": 3},
                                     "deadbeef")


@pytest.mark.parametrize(("env", "actor"), [
    ({"CONVERGE_ACTOR": "release-bot", "GITHUB_ACTIONS": "true", "GITHUB_ACTOR": "octo"},
     "release-bot"),
    ({"GITHUB_ACTIONS": "true", "GITHUB_ACTOR": "octocat"}, "github:octocat"),
    ({"GITLAB_CI": "true", "GITLAB_USER_LOGIN": "gl-user"}, "gitlab:gl-user"),
    ({"GITHUB_ACTOR": "no-ci-marker"}, None),
])
def test_the_actor_comes_from_converge_actor_then_ci_then_user_at_host(
        env: dict[str, str], actor: str | None) -> None:
    found = current_actor(env)
    if actor is None:
        assert "@" in found and "no-ci-marker" not in found
    else:
        assert found == actor
