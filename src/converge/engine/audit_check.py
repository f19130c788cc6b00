"""Check an audit log against what the journal recorded of it: pure, no I/O.

Why apart from the chain check (``engine.audit``): a hash chain without a key proves
only that the lines agree with each other, so a truncated, emptied or deleted log, a last
line edited, or a consistent rewrite of every later line all pass it. The journal keeps
the sha256 of every line converge wrote (``converge_audit_lines``) and every run that
owes the log a line (``converge_runs.audit_log``); comparing the file with them finds
each of those, names the line and the run, and says what differs.

A ``reseal`` line that the journal recorded starts a new segment: the lines before it
are as the operator accepted them (its ``before`` digest pins their bytes), the entries
it says were lost are not asked for again, and the check proper runs from it on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from converge.engine.audit import (
    AuditEntry,
    AuditProblem,
    ParsedLog,
    check_chain,
    check_reseal_digest,
    line_hash,
)
from converge.engine.journal_records import AuditLineRecord, RunRecord

_SHOWN_FIELDS = ("run_id", "result", "counts", "project", "command", "actor", "decision_id")


@dataclass(frozen=True)
class AuditReport:
    """What ``converge audit verify`` reports: ``problems`` fail it (each names a line;
    0: the file as a whole), ``notes`` do not (reseals on record, runs not logged yet, a
    log the journal has not anchored yet)."""

    entries: int
    problems: list[AuditProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    head: AuditLineRecord | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "problems": [{"line": p.line, "message": p.message} for p in self.problems],
            "notes": list(self.notes),
            "head": {"seq": self.head.seq, "sha": self.head.sha} if self.head else None,
        }


def short(sha: str) -> str:
    return f"{sha[:12]}…"


def span(first: int, last: int) -> str:
    return f"#{first}" if first == last else f"#{first}..#{last}"


def head_of(rows: Sequence[AuditLineRecord]) -> AuditLineRecord | None:
    """The newest line the journal knows was written: the log's head."""
    written = [r for r in rows if r.state == "written"]
    return written[-1] if written else None


def genuine_reseal(log: ParsedLog, rows_by_seq: Mapping[int, AuditLineRecord]) -> int | None:
    """The index of the last reseal line the journal recorded (a forged one is not)."""
    for index in range(len(log.docs) - 1, -1, -1):
        doc = log.docs[index]
        if doc is None or doc.get("kind") != "reseal":
            continue
        row = rows_by_seq.get(int(doc["seq"]))
        if row is not None and row.kind == "reseal" and row.sha == line_hash(log.lines[index]):
            return index
    return None


def check_against_journal(
    name: str,
    data: bytes | None,
    rows: Sequence[AuditLineRecord],
    runs: Sequence[RunRecord],
    *,
    head: str | None = None,
) -> AuditReport:
    """Every problem of the log ``name`` (its bytes; None: missing) against the lines and
    runs the journal recorded for it; ``head`` is an external anchor (``--head``)."""
    rows_by_seq = {r.seq: r for r in rows}
    runs_by_id = {r.id: r for r in runs}
    recorded = head_of(rows)
    problems: list[AuditProblem] = []
    log = ParsedLog.of(data or b"")
    notes = _unlogged_runs(rows, runs, {line_hash(line) for line in log.lines})
    if data is None or not log.lines:
        if recorded is not None:
            count = sum(1 for r in rows if r.state == "written")
            state = "is missing" if data is None else "is empty"
            problems.append(
                AuditProblem(
                    0,
                    f"{name} {state}, but the journal recorded {count} entries (the last "
                    f"#{recorded.seq}, sha {short(recorded.sha)})",
                )
            )
        elif head is not None:
            problems.append(
                AuditProblem(0, f"{name} {'is missing' if data is None else 'is empty'}")
            )
        return AuditReport(0, problems, notes, recorded)
    reseal = genuine_reseal(log, rows_by_seq)
    problems.extend(check_chain(log, reseal=reseal))
    if not rows:
        notes.append(
            f"the journal holds no head for {name} yet (written before converge anchored its "
            "logs, or the journal is new): only its chain was checked; the next append "
            "records it"
        )
    else:
        if reseal is not None:
            problems.extend(_before_reseal(log, reseal, rows_by_seq))
            notes.extend(_reseal_notes(log, rows, rows_by_seq))
        start = reseal or 0
        problems.extend(_lines_against_rows(log, start, rows_by_seq, runs_by_id))
        first_seq = int(log.docs[reseal]["seq"]) if reseal is not None else 1  # type: ignore[index]
        problems.extend(_missing(name, log, first_seq, rows, runs_by_id))
    if head is not None and line_hash(log.lines[-1]) != head:
        problems.append(
            AuditProblem(
                len(log.lines),
                "the last line is not the recorded head: it was changed, or "
                "lines after it were removed",
            )
        )
    unique = {(p.line, p.message): p for p in problems}
    ordered = sorted(unique.values(), key=lambda p: p.line)
    return AuditReport(len(log.lines), ordered, notes, recorded)


def _lines_against_rows(
    log: ParsedLog,
    start: int,
    rows_by_seq: Mapping[int, AuditLineRecord],
    runs_by_id: Mapping[str, RunRecord],
) -> list[AuditProblem]:
    """Each line from ``start`` on must be the one the journal recorded at its seq."""
    problems: list[AuditProblem] = []
    for index in range(start, len(log.lines)):
        doc, number = log.docs[index], index + 1
        if doc is None:
            continue  # reported by the chain check
        seq = int(doc["seq"])
        row = rows_by_seq.get(seq)
        sha = line_hash(log.lines[index])
        if row is not None and row.sha == sha:
            continue
        if row is None or (row.state == "intent" and index == len(log.lines) - 1):
            problems.append(
                AuditProblem(
                    number,
                    f"entry #{seq} was not written by converge: the journal has no record of it",
                )
            )
            continue
        problems.append(AuditProblem(number, _edited(seq, doc, row, runs_by_id)))
    return problems


def _edited(
    seq: int,
    doc: Mapping[str, Any],
    row: AuditLineRecord,
    runs_by_id: Mapping[str, RunRecord],
) -> str:
    """Why entry ``seq`` differs from what converge wrote, naming its run and fields."""
    lead = f"entry #{seq}"
    wrote = f"the journal recorded sha {short(row.sha)}"
    run = runs_by_id.get(row.run_id) if row.run_id else None
    if row.run_id is None:
        return f"{lead} (a {row.kind} line) differs from what converge wrote ({wrote})"
    if run is None:
        return f"{lead} (run {row.run_id}) differs from what converge wrote ({wrote})"
    expected = AuditEntry.from_run(run).document(seq=seq, prev="", time="")
    if doc.get("run_id") != run.id:
        return (
            f"{lead} should record run {run.id} ({run.command} of {run.project}, "
            f"{run.result}) but records {_shown(doc.get('run_id'))}: runs were removed, "
            "reordered or rewritten"
        )
    changed = [
        f"{key} {_shown(doc.get(key))} where the journal has {_shown(expected.get(key))}"
        for key in _SHOWN_FIELDS
        if doc.get(key) != expected.get(key)
    ]
    if changed:
        return f"{lead} (run {run.id}) was edited: " + "; ".join(changed)
    return (
        f"{lead} (run {run.id}) was rewritten ({wrote}): its facts still match the run, "
        "so an earlier line was changed and the chain recomputed after it"
    )


def _shown(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k} {v}" for k, v in sorted(value.items())) + "}"
    return repr(value) if value is not None else "nothing"


def _missing(
    name: str,
    log: ParsedLog,
    first_seq: int,
    rows: Sequence[AuditLineRecord],
    runs_by_id: Mapping[str, RunRecord],
) -> list[AuditProblem]:
    """Lines the journal recorded (from ``first_seq`` on) that the file no longer has."""
    present = {int(doc["seq"]) for doc in log.docs if doc is not None}
    last_seq = max(present) if present else 0
    gone = [r for r in rows if r.state == "written" and r.seq >= first_seq and r.seq not in present]
    problems: list[AuditProblem] = []
    tail = [r for r in gone if r.seq > last_seq]
    for row in gone:
        if row.seq > last_seq:
            continue
        number = next(
            (i + 1 for i, d in enumerate(log.docs) if d is not None and int(d["seq"]) > row.seq),
            len(log.lines),
        )
        problems.append(
            AuditProblem(number, f"entry #{row.seq} ({_what(row, runs_by_id)}) is missing")
        )
    if tail:
        lost = "; ".join(_what(r, runs_by_id) for r in tail)
        problems.append(
            AuditProblem(
                len(log.lines),
                f"{name} ends at entry #{last_seq} but the journal recorded entries up to "
                f"#{tail[-1].seq} (sha {short(tail[-1].sha)}): it was truncated; missing "
                f"{span(tail[0].seq, tail[-1].seq)} ({lost})",
            )
        )
    return problems


def _what(row: AuditLineRecord, runs_by_id: Mapping[str, RunRecord]) -> str:
    run = runs_by_id.get(row.run_id) if row.run_id else None
    if run is not None:
        return f"run {run.id}, {run.command} of {run.project}, {run.result}"
    if row.run_id:
        return f"run {row.run_id}"
    return f"a {row.kind} line"


def _before_reseal(
    log: ParsedLog, reseal: int, rows_by_seq: Mapping[int, AuditLineRecord]
) -> list[AuditProblem]:
    """The lines a reseal accepted must still be byte for byte what it accepted."""
    stale = check_reseal_digest(log, reseal)
    if stale is None:
        return []
    for index in range(reseal):
        doc = log.docs[index]
        row = rows_by_seq.get(int(doc["seq"])) if doc is not None else None
        if row is not None and row.sha != line_hash(log.lines[index]):
            return [
                AuditProblem(
                    index + 1,
                    f"entry #{row.seq} was changed after the reseal on line {reseal + 1} "
                    "accepted it",
                )
            ]
    return [stale]


def _reseal_notes(
    log: ParsedLog, rows: Sequence[AuditLineRecord], rows_by_seq: Mapping[int, AuditLineRecord]
) -> list[str]:
    """Every reseal the journal recorded, with what it says was lost: documented forever."""
    notes: list[str] = []
    for index, doc in enumerate(log.docs):
        if doc is None or doc.get("kind") != "reseal":
            continue
        row = rows_by_seq.get(int(doc["seq"]))
        if row is None or row.sha != line_hash(log.lines[index]):
            continue
        recorded, found, lost = doc.get("recorded"), doc.get("found"), doc.get("lost")
        text = (
            f"line {index + 1}: resealed at {doc.get('time')} by {doc.get('actor')} "
            f"({doc.get('reason')!r})"
        )
        if isinstance(lost, list) and len(lost) == 2:
            first, last = int(lost[0]), int(lost[1])
            runs = [r.run_id for r in rows if first <= r.seq <= last and r.run_id]
            text += f": entries {span(first, last)} were lost"
            text += f" (runs {', '.join(runs)})" if runs else ""
        if isinstance(recorded, Mapping):
            sha = short(str(recorded.get("sha")))
            text += f"; the journal's head was #{recorded.get('seq')} (sha {sha})"
        if isinstance(found, Mapping):
            text += f", the file ended at #{found.get('seq')}"
        elif found is None:
            text += ", the file was empty or missing"
        accepted = doc.get("problems") or []
        if accepted:
            text += f"; {len(accepted)} problem(s) accepted"
        notes.append(text)
    return notes


def _unlogged_runs(
    rows: Sequence[AuditLineRecord], runs: Sequence[RunRecord], in_file: set[str]
) -> list[str]:
    """Finished runs with no line yet: killed before they could log, or their writer
    died between the intent and the write (not a tampering: the next append logs them)."""
    logged = {r.run_id for r in rows if r.run_id and (r.state == "written" or r.sha in in_file)}
    return [
        f"run {run.id} ({run.command} of {run.project}, {run.result}) is not logged yet: the "
        "next apply, decide or reseal logs it"
        for run in runs
        if run.id not in logged and run.result != "running"
    ]
