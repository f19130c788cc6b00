"""The audit log against the journal (issue 8, item 7), end to end on the sandbox.

Without ``--head``, ``converge audit verify`` fails for a last line edited, a truncated,
emptied or deleted file and a fully re-chained edit, because the journal keeps the log's
head and every line's hash; an apply refuses to append to such a log before any vendor
write until ``converge audit reseal`` documents the loss; ``decide`` verdicts, killed
runs (on the next apply) and SIGTERM'd runs (at once) are logged."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from converge.engine.audit import GENESIS
from tests.e2e.conftest import CONVERGE, E2E, base_env, start_e2e

pytestmark = pytest.mark.integration

REFUSAL = (
    "reconciliation.log no longer ends with the line the journal recorded (seq {seq}, sha "
)


def log_path(e2e: E2E) -> Path:
    return e2e.root / "reconciliation.log"


def docs(e2e: E2E) -> list[dict[str, object]]:
    path = log_path(e2e)
    return [json.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []


def encode(doc: dict[str, object]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def rechain(lines: list[dict[str, object]]) -> bytes:
    """Lines as a forger writes them: every ``prev`` recomputed, so the chain holds."""
    prev, out = GENESIS, []
    for doc in lines:
        line = encode({**doc, "prev": prev})
        prev = hashlib.sha256(line).hexdigest()
        out.append(line + b"\n")
    return b"".join(out)


@pytest.fixture(scope="module")
def logged(e2e: E2E) -> E2E:
    """Three applies of journal logged (the first makes writes, two settle nothing)."""
    for _ in range(3):
        result = e2e.cli("apply", "journal")
        assert result.exit_code == 0, result.output
    return e2e


@pytest.fixture
def tampered(logged: E2E) -> Iterator[Callable[[bytes | None], None]]:
    """Replace the log's bytes (None: delete it); put them back after the test."""
    path = log_path(logged)
    original = path.read_bytes()

    def tamper(data: bytes | None) -> None:
        if data is None:
            path.unlink()
        else:
            path.write_bytes(data)

    yield tamper
    path.write_bytes(original)
    assert logged.cli("audit", "verify").exit_code == 0


def verify_json(e2e: E2E) -> tuple[int, dict[str, object]]:
    result = e2e.cli("audit", "verify", "--output", "json")
    return result.exit_code, json.loads(result.stdout)


def test_an_intact_log_verifies_as_one_json_document(logged: E2E) -> None:
    code, report = verify_json(logged)
    assert code == 0, report
    assert report["ok"] is True and report["problems"] == []
    assert report["entries"] == len(docs(logged)) >= 3


def test_the_last_line_edited_fails_verify_naming_it(
    logged: E2E, tampered: Callable[[bytes | None], None]
) -> None:
    lines = log_path(logged).read_bytes().splitlines(keepends=True)
    lines[-1] = lines[-1].replace(b'"actor":"', b'"actor":"mallory-', 1)
    tampered(b"".join(lines))

    verify = logged.cli("audit", "verify")
    code, report = verify_json(logged)

    assert verify.exit_code == 1, verify.output
    assert f"reconciliation.log:{len(lines)}: " in verify.stdout, verify.stdout
    assert code == 1 and report["ok"] is False
    assert [p["line"] for p in report["problems"]] == [len(lines)]  # type: ignore[union-attr]


@pytest.mark.parametrize("how", ["truncated", "emptied", "deleted"])
def test_a_truncated_emptied_or_deleted_log_fails_verify(
    logged: E2E, tampered: Callable[[bytes | None], None], how: str
) -> None:
    lines = log_path(logged).read_bytes().splitlines(keepends=True)
    tampered({"truncated": b"".join(lines[:-1]), "emptied": b"", "deleted": None}[how])

    verify = logged.cli("audit", "verify")

    assert verify.exit_code == 1, verify.output
    assert f"#{len(lines)}" in verify.stdout, verify.stdout
    assert {"truncated": "truncated", "emptied": "is empty", "deleted": "is missing"}[how] in (
        verify.stdout
    )


def test_a_fully_rechained_edit_of_a_runs_counts_fails_verify_naming_the_run(
    logged: E2E, tampered: Callable[[bytes | None], None]
) -> None:
    entries = docs(logged)
    first = next(i for i, d in enumerate(entries) if d.get("run_id"))
    entries[first]["counts"] = {"created": 0, "updated": 0, "deleted": 0}
    tampered(rechain(entries))

    verify = logged.cli("audit", "verify")

    assert verify.exit_code == 1, verify.output
    assert f"reconciliation.log:{first + 1}: " in verify.stdout, verify.stdout
    assert str(entries[first]["run_id"]) in verify.stdout


def test_a_fully_rechained_removal_of_a_run_fails_verify_naming_the_run(
    logged: E2E, tampered: Callable[[bytes | None], None]
) -> None:
    entries = docs(logged)
    removed = entries.pop(1)
    for number, doc in enumerate(entries, start=1):
        doc["seq"] = number
    tampered(rechain(entries))

    verify = logged.cli("audit", "verify")

    assert verify.exit_code == 1, verify.output
    assert str(removed.get("run_id") or removed["seq"]) in verify.stdout, verify.stdout


def test_after_truncation_apply_is_refused_before_any_write_until_a_reseal(logged: E2E) -> None:
    path = log_path(logged)
    lines = path.read_bytes().splitlines(keepends=True)
    head = json.loads(lines[-1])
    env = next(e for e in logged.vercel_envs("journal-web") if e["key"] == "NEXT_PUBLIC_API_URL")
    logged.vercel_delete_env("journal-web", str(env["id"]))  # drift: apply has a write to make
    path.write_bytes(b"".join(lines[:-1]))
    log = logged.sandbox.request_log
    log.reset()

    refused = logged.cli("apply", "journal")
    again = logged.cli("apply", "journal")

    assert refused.exit_code == 1, refused.output
    assert REFUSAL.format(seq=head["seq"]) in refused.stderr, refused.stderr
    assert "it was truncated or edited; run converge audit verify" in refused.stderr
    assert again.exit_code == 1  # the gap is never sealed by a later run
    assert log.write_count() == 0
    assert len(path.read_bytes().splitlines()) == len(lines) - 1
    assert logged.cli("audit", "verify").exit_code == 1

    no_reason = logged.cli("audit", "reseal")
    resealed = logged.cli("audit", "reseal", "--reason", "restored from the nightly backup",
                          env={"CONVERGE_ACTOR": "ops-oncall"})
    assert no_reason.exit_code != 0
    assert resealed.exit_code == 0, resealed.output
    assert f"#{head['seq']}" in resealed.stdout, resealed.stdout
    seal = docs(logged)[-1]
    assert (seal["kind"], seal["actor"], seal["reason"]) == (
        "reseal", "ops-oncall", "restored from the nightly backup")
    assert seal["recorded"] == {"seq": head["seq"], "sha": hashlib.sha256(lines[-1].rstrip(
        b"\n")).hexdigest()}

    applied = logged.cli("apply", "journal")
    verify = logged.cli("audit", "verify")
    assert applied.exit_code == 0, applied.output
    assert log.write_count() >= 1
    assert verify.exit_code == 0, verify.output
    assert "reseal" in verify.stdout and "ops-oncall" in verify.stdout, verify.stdout
    assert "restored from the nightly backup" in verify.stdout


def test_decide_logs_each_verdict_without_a_value(logged: E2E) -> None:
    before = len(docs(logged))
    result = logged.cli("decide", "journal", env={"CONVERGE_ACTOR": "reviewer"})
    entries = docs(logged)

    assert result.exit_code == 0, result.output
    assert len(entries) == before + 1
    line = entries[-1]
    decision = json.loads((logged.root / ".out" / "journal" / "decision.json").read_text())
    assert (line["kind"], line["project"], line["verdict"], line["actor"]) == (
        "decide", "journal", "allow", "reviewer")
    assert line["decision_id"] == decision["decision_id"]
    assert set(line) == {"kind", "seq", "prev", "time", "project", "decision_id", "verdict",
                         "counts", "actor"}
    assert set(line["counts"]) == {"fail", "warn", "waived"}  # type: ignore[arg-type]
    assert logged.cli("audit", "verify").exit_code == 0


def test_a_keyboard_interrupt_inside_the_library_logs_the_run_at_once(
        logged: E2E, monkeypatch: pytest.MonkeyPatch) -> None:
    from converge.engine.context import RunContext

    def interrupt(self: RunContext, project: str, command: str = "apply") -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(RunContext, "raise_if_stopped", interrupt)
    result = logged.cli("apply", "journal")
    monkeypatch.undo()

    assert result.exit_code == 130, result.output
    stopped = newest_run_id(logged)
    assert [(d["run_id"], d["result"]) for d in docs(logged)[-1:]] == [(stopped, "interrupted")]
    assert logged.cli("audit", "verify").exit_code == 0


# -- killed and terminated runs ---------------------------------------------------------------


@pytest.fixture
def slow(tmp_path: Path) -> Iterator[E2E]:
    """A fresh workspace whose sandbox answers slowly, so a signal lands mid-apply."""
    harness = start_e2e(tmp_path / "ws", projects=("journal",), faults="latency=60ms")
    try:
        yield harness
    finally:
        harness.sandbox.stop()


def signal_apply_after_writes(e2e: E2E, writes: int, signum: int) -> subprocess.Popen[str]:
    log = e2e.sandbox.request_log
    log.reset()
    proc = subprocess.Popen(
        [str(CONVERGE), "--workspace", str(e2e.root), "apply", "journal"],
        env=base_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 60
    while log.write_count() < writes:
        assert proc.poll() is None, f"apply finished before write {writes}"
        assert time.monotonic() < deadline, "apply made too few writes"
        time.sleep(0.002)
    proc.send_signal(signum)
    proc.wait(30)
    return proc


def newest_run_id(e2e: E2E) -> str:
    status = e2e.cli("--output", "json", "status", "journal")
    return str(json.loads(status.stdout)["projects"][0]["runs"][0]["id"])


def test_a_killed_run_is_logged_once_as_interrupted_by_the_next_apply(slow: E2E) -> None:
    proc = signal_apply_after_writes(slow, 3, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    killed = newest_run_id(slow)
    assert killed not in {d.get("run_id") for d in docs(slow)}

    assert slow.cli("apply", "journal").exit_code == 0
    assert slow.cli("apply", "journal").exit_code == 0

    lines = [d for d in docs(slow) if d.get("run_id") == killed]
    assert len(lines) == 1, lines
    assert (lines[0]["result"], lines[0]["kind"]) == ("interrupted", "run")
    assert slow.cli("audit", "verify").exit_code == 0


def test_a_sigtermed_run_stops_and_is_logged_as_interrupted_at_once(slow: E2E) -> None:
    proc = signal_apply_after_writes(slow, 1, signal.SIGTERM)

    assert proc.returncode == 128 + signal.SIGTERM, proc.returncode
    assert proc.stderr is not None and "stopped by SIGTERM" in proc.stderr.read()
    stopped = newest_run_id(slow)
    lines = [d for d in docs(slow) if d.get("run_id") == stopped]
    assert [(d["result"], d["kind"]) for d in lines] == [("interrupted", "run")]
    assert slow.cli("audit", "verify").exit_code == 0
    assert slow.cli("apply", "journal").exit_code == 0
