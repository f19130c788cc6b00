"""The audit log anchored in the journal: where a truncation cannot hide.

Why: ``reconciliation.log`` is a plain file in the workspace; its hash chain shows an
edited line only while the lines after it are left alone, and says nothing when the file
is truncated, emptied, deleted or rewritten whole. So the journal keeps the sha256 of
every line converge writes (``converge_audit_lines``; SQLite or PostgreSQL), and each
run records the log that owes it a line (``converge_runs.audit_log``):

* an append happens under the file's ``flock``: the tail is checked against the
  journal's head, the line's intent (seq, sha) is committed, the line is written and
  fsync'd, then marked written. A crash between two steps leaves the file at most one
  line behind, or exactly at, an intent with a matching hash (or a torn write of it,
  cut off): the next append settles that. Any other tail is refused with one sentence
  (``AuditLogTampered``) before the caller makes a vendor write, every time, until
  ``reseal`` documents the loss in a ``reseal`` line kept forever;
* runs finish and log under the same lock (``finish_run``), so a finished run without
  a line is one whose process died in between; the next append logs it, and first
  records as ``interrupted`` every run still marked ``running`` whose process is dead
  (SIGKILL): killed runs are logged once, by whoever appends next;
* ``verify`` compares the file with the lines and runs the journal recorded
  (``engine.audit_check``) under a shared lock, so it never sees half an append.

The log is keyed in the journal by its workspace-relative path when the journal is the
workspace's own SQLite file, else (a shared PostgreSQL state, an outside SQLite path) by
this workspace's id (``.converge/workspace.id``, created once) and that path, so the
workspaces sharing a team state each keep their own head.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from converge.config.workspace import Workspace
from converge.engine.audit import (
    GENESIS,
    AuditEntry,
    Entry,
    LogFile,
    ParsedLog,
    ResealEntry,
    audit_log_path,
    check_chain,
    encode_line,
    line_hash,
)
from converge.engine.audit_check import (
    AuditReport,
    check_against_journal,
    head_of,
    short,
    span,
)
from converge.engine.journal import Journal, RunRecord, utc_now
from converge.engine.journal_records import AuditLineRecord, RunResult
from converge.errors import JournalError
from converge.util.files import write_atomic

__all__ = [
    "AuditLogTampered",
    "AuditReport",
    "AuditTrail",
    "Reseal",
    "open_trail",
    "workspace_trail",
]

WORKSPACE_ID_FILE = "workspace.id"
_MAX_REASON = 500
_MAX_PROBLEMS = 20


class AuditLogTampered(JournalError):
    """The audit log no longer ends with the line the journal recorded: appends are
    refused until the operator documents the loss."""

    default_hint = (
        "restore the file if you can; otherwise record the loss with "
        "converge audit reseal --reason TEXT (kept in the log forever)"
    )


@dataclass(frozen=True)
class Reseal:
    """What a reseal recorded: its entry's seq, the journal's head before it, the line
    the file ended with instead, the entries lost, and the problems it accepted."""

    seq: int
    recorded: AuditLineRecord | None
    found_seq: int | None
    lost: tuple[int, int] | None
    problems: tuple[str, ...]


def open_trail(root: Path, journal: Journal, setting: str = "reconciliation.log") -> AuditTrail:
    """The audit log ``setting`` (``converge.yaml``'s ``audit_log``) of the workspace at
    ``root``, anchored in ``journal``."""
    root = Path(root)
    path = audit_log_path(root, setting)
    return AuditTrail(path, log_key(root, path, journal), setting, journal)


def workspace_trail(workspace: Workspace, journal: Journal) -> AuditTrail:
    return open_trail(workspace.root, journal, workspace.settings.audit_log)


def log_key(root: Path, path: Path, journal: Journal) -> str:
    """How the journal names this log (see the module docstring)."""
    resolved_root = root.resolve()
    try:
        relative = path.resolve().relative_to(resolved_root).as_posix()
    except ValueError:
        relative = str(path.resolve())
    if journal.backend == "sqlite":
        try:
            Path(journal.db.where).resolve().relative_to(resolved_root)
            return relative
        except ValueError:
            pass
    return f"{workspace_id(journal.state_dir)}:{relative}"


def workspace_id(state_dir: Path) -> str:
    """This workspace's id: random, created once in ``.converge/workspace.id``."""
    path = state_dir / WORKSPACE_ID_FILE
    if not path.is_file():
        state_dir.mkdir(parents=True, exist_ok=True)
        write_atomic(path, secrets.token_hex(16) + "\n", replace=False)
    text = path.read_text(encoding="ascii").strip()
    if not text or len(text) > 64 or not text.isalnum():
        raise JournalError(f"{path} does not hold a workspace id", hint=f"delete {path}")
    return text


class AuditTrail:
    """One workspace's audit log and the journal that anchors it. Thread-safe (the
    file lock serialises appends; the journal serialises its connection)."""

    def __init__(self, path: Path, key: str, name: str, journal: Journal) -> None:
        self.path = path
        self.key = key
        self.name = name
        self.journal = journal

    # -- appending ------------------------------------------------------------------------

    def check(self) -> None:
        """Raise ``AuditLogTampered`` unless the log ends with the head the journal
        recorded (after settling a crash of a writer): called before vendor writes."""
        self._refuse_if_deleted()
        with LogFile.locked(self.path) as log:
            assert log is not None
            self._settle_tail(log)

    def append(self, entry: Entry) -> int:
        """Append ``entry`` (after the lines runs still owe the log); return its seq."""
        self._refuse_if_deleted()
        with LogFile.locked(self.path) as log:
            assert log is not None
            seq, _ = self._settle_owed(log, self._settle_tail(log))
            return self._write(log, entry, seq)

    def finish_run(
        self, run: RunRecord | str, result: RunResult, counts: Mapping[str, int] | None = None
    ) -> RunRecord:
        """``Journal.finish_run`` and the run's line, under the log's lock: the run is
        recorded as finished even when the line is refused (it is then owed)."""
        self._refuse_if_deleted(finish=(run, result, counts))
        with LogFile.locked(self.path) as log:
            assert log is not None
            finished = self.journal.finish_run(run, result, counts)
            seq, logged = self._settle_owed(log, self._settle_tail(log))
            if finished.id not in logged and not self.journal.audit_logged(self.key, finished.id):
                self._write(log, AuditEntry.from_run(finished), seq)  # begun without a key
            return finished

    def settle(self) -> list[str]:
        """Log every run that owes the log a line (killed runs as ``interrupted``); return
        their ids."""
        self._refuse_if_deleted()
        with LogFile.locked(self.path) as log:
            assert log is not None
            return self._settle_owed(log, self._settle_tail(log))[1]

    # -- verifying and resealing ------------------------------------------------------------

    def verify(self, *, head: str | None = None) -> AuditReport:
        """Every problem of the log against the journal (and ``head``, if given)."""
        with LogFile.locked(self.path, exclusive=False) as log:
            data = log.read() if log is not None else None
            rows = self.journal.audit_lines(self.key)
            runs = self.journal.audit_runs(self.key)
        return check_against_journal(self.name, data, rows, runs, head=head)

    def reseal(self, reason: str, *, actor: str) -> Reseal:
        """Accept the log as it is now, recording in a ``reseal`` line what was lost
        (the journal's head, the line the file ends with, the problems) with ``reason``
        and ``actor``; appends work again after it. Refused when nothing is wrong."""
        reason = " ".join(reason.split())[:_MAX_REASON]
        if not reason:
            raise JournalError(
                "a reseal needs a reason (--reason TEXT): it is kept in the log forever"
            )
        existed = self.path.exists()
        with LogFile.locked(self.path) as log:
            assert log is not None
            self._resolve_intents(log, self.journal.audit_tail(self.key))
            rows = self.journal.audit_lines(self.key)
            data = log.read() if existed else None
            report = check_against_journal(self.name, data, rows, self.journal.audit_runs(self.key))
            if report.ok:
                raise JournalError(f"{self.name} matches the journal; nothing to reseal")
            last, torn = log.last_line()
            if torn:
                log.write_line(b"\n")  # the reseal line starts a line of its own
            parsed = ParsedLog.of(log.read())
            recorded = head_of(rows)
            found_seq = _last_seq(parsed)
            lost = None
            if recorded is not None and (found_seq or 0) < recorded.seq:
                missing = [r.seq for r in rows if r.seq > (found_seq or 0) and r.state == "written"]
                lost = (missing[0], recorded.seq) if missing else None
            problems = tuple(str(p)[:300] for p in report.problems[:_MAX_PROBLEMS])
            entry = ResealEntry(
                actor=actor,
                reason=reason,
                recorded={"seq": recorded.seq, "sha": recorded.sha} if recorded else None,
                found={"seq": found_seq, "sha": line_hash(last)} if last is not None else None,
                before=parsed.digest_before(len(parsed.lines)),
                lost=list(lost) if lost else None,
                problems=problems,
            )
            after = max([r.seq for r in rows] + [found_seq or 0])
            seq = self._write(log, entry, after)
            self._settle_owed(log, seq)
            return Reseal(seq, recorded, found_seq, lost, problems)

    # -- internals --------------------------------------------------------------------------

    def _refuse_if_deleted(
        self,
        finish: tuple[RunRecord | str, RunResult, Mapping[str, int] | None] | None = None,
    ) -> None:
        """A missing log with a recorded head is refused without creating an empty one
        (which would turn "deleted" into "emptied")."""
        if self.path.exists():
            return
        recorded = head_of(self.journal.audit_tail(self.key))
        if recorded is None:
            return
        if finish is not None:
            self.journal.finish_run(*finish)  # the run still ends in the journal (owed a line)
        raise self._tampered(recorded)

    def _tampered(self, recorded: AuditLineRecord | None) -> AuditLogTampered:
        if recorded is None:
            return AuditLogTampered(
                f"{self.name} holds lines the journal has no record of: it was edited; "
                "run converge audit verify"
            )
        return AuditLogTampered(
            f"{self.name} no longer ends with the line the journal recorded (seq "
            f"{recorded.seq}, sha {short(recorded.sha)}): it was truncated or edited; run "
            "converge audit verify"
        )

    def _resolve_intents(self, log: LogFile, rows: list[AuditLineRecord]) -> list[AuditLineRecord]:
        """Settle what a writer that died mid-append left (``rows``: the journal's
        ``audit_tail``): an intent whose line is the file's last becomes written;
        otherwise the intent is dropped (its run stays owed) and a torn write of it is
        cut off. Returns the tail as it is then."""
        intents = [r for r in rows if r.state == "intent"]
        if not intents:
            return rows
        for intent in intents:
            last, torn = log.last_line()
            if last is not None and not torn and line_hash(last) == intent.sha:
                self.journal.audit_written(self.key, intent.seq)
                continue
            if torn and last is not None:
                log.cut(log.size() - len(last))
            self.journal.audit_drop_intent(self.key, intent.seq)
        return self.journal.audit_tail(self.key)

    def _settle_tail(self, log: LogFile) -> int:
        """Check the tail against the journal's head (adopting a log it never anchored,
        when its chain is intact); return the head's seq (0: empty)."""
        rows = self._resolve_intents(log, self.journal.audit_tail(self.key))
        last, torn = log.last_line()
        if not rows:
            return self._adopt(log) if last is not None else 0
        recorded = head_of(rows)
        if recorded is None and last is None:
            return 0
        if last is None or torn or recorded is None or line_hash(last) != recorded.sha:
            raise self._tampered(recorded)
        return recorded.seq

    def _adopt(self, log: LogFile) -> int:
        """A log written before the journal anchored it: record its lines as they are,
        if its chain holds (else refuse: the operator reseals it, knowingly)."""
        parsed = ParsedLog.of(log.read())
        problems = check_chain(parsed, reseal=parsed.last_reseal())
        if problems:  # an unparsable line is one of them
            raise AuditLogTampered(
                f"{self.name} has {len(problems)} problem(s) and the journal has no record "
                "of it yet to vouch for it: run converge audit verify"
            )
        lines = [
            (int(doc["seq"]), line_hash(line), str(doc.get("kind", "run")), doc.get("run_id"))
            for line, doc in zip(parsed.lines, parsed.docs, strict=True)
            if doc is not None
        ]
        self.journal.audit_adopt(self.key, lines)
        return lines[-1][0] if lines else 0

    def _settle_owed(self, log: LogFile, seq: int) -> tuple[int, list[str]]:
        """Write the line of every run that owes one; return the new head's seq and the
        runs logged."""
        logged = []
        for run in self.journal.runs_owing_audit(self.key):
            seq = self._write(log, AuditEntry.from_run(run), seq)
            logged.append(run.id)
        return seq, logged

    def _write(self, log: LogFile, entry: Entry, after: int) -> int:
        """Intent, write, confirm: the line after seq ``after``; return its seq."""
        last, _ = log.last_line()
        prev = line_hash(last) if last is not None else GENESIS
        seq = after + 1
        line = encode_line(entry.document(seq=seq, prev=prev, time=utc_now()))
        self.journal.audit_intend(
            self.key, seq=seq, sha=line_hash(line), kind=entry.kind, run_id=entry.run_id
        )
        log.write_line(line + b"\n")
        self.journal.audit_written(self.key, seq)
        return seq


def _last_seq(log: ParsedLog) -> int | None:
    for doc in reversed(log.docs):
        if doc is not None:
            return int(doc["seq"])
    return None


def describe_reseal(name: str, done: Reseal) -> str:
    """One line saying what a reseal recorded (for the CLI)."""
    if done.lost:
        what = f"entries {span(*done.lost)} recorded as lost"
    else:
        what = f"{len(done.problems)} problem(s) accepted"
    head = f" (the journal's head was #{done.recorded.seq})" if done.recorded else ""
    return f"{name}: resealed as entry #{done.seq}; {what}{head}"
