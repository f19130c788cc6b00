"""The audit log: one JSON line per run in ``reconciliation.log``, hash-chained.

Why a chain: the brief's ``echo "$(date): Reconciled $PROJECT" >> reconciliation.log``
says who changed what and when; converge keeps that trail but makes it tamper-evident.
Each line carries ``prev``, the sha256 of the previous line's bytes (the first line: 64
zeros), and ``seq``, its 1-based position, so ``verify_audit_log`` can tell an edited line
from a removed, reordered or inserted one and name the line. The chain is keyless: it
catches edits that were not followed by rewriting every later line, and it cannot see the
last line being edited or dropped unless the caller passes a ``head`` recorded elsewhere
(``append_audit`` returns each line's hash for that purpose).

Appends are atomic and safe with concurrent writers: the file is opened ``O_APPEND``,
``flock``'d while the previous line is read and the new one written in one ``write``,
then fsync'd. Entries hold names, ids, digests and counts, never a secret value.
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import json
import os
import socket
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from converge.engine.journal import RunRecord, utc_now
from converge.errors import JournalError

GENESIS = "0" * 64
_TAIL_CHUNK = 64 * 1024
_MAX_ACTOR = 200

# (marker variable, actor variable, prefix): the CI systems whose actor we can name.
_CI_ACTORS = (
    ("GITHUB_ACTIONS", "GITHUB_ACTOR", "github"),
    ("GITLAB_CI", "GITLAB_USER_LOGIN", "gitlab"),
    ("CIRCLECI", "CIRCLE_USERNAME", "circleci"),
    ("BUILDKITE", "BUILDKITE_BUILD_CREATOR_EMAIL", "buildkite"),
    ("BITBUCKET_BUILD_NUMBER", "BITBUCKET_STEP_TRIGGERER_UUID", "bitbucket"),
)


def current_actor(env: Mapping[str, str] | None = None) -> str:
    """Who is running converge: ``$CONVERGE_ACTOR``, else the CI's triggering user
    (``github:octocat``), else ``user@host``."""
    env = os.environ if env is None else env
    actor = env.get("CONVERGE_ACTOR", "").strip()
    if not actor:
        for marker, variable, prefix in _CI_ACTORS:
            if env.get(marker) and env.get(variable, "").strip():
                actor = f"{prefix}:{env[variable].strip()}"
                break
    if not actor:
        try:
            user = getpass.getuser()
        except (OSError, KeyError):
            user = "unknown"
        actor = f"{user}@{socket.gethostname()}"
    return " ".join(actor.split())[:_MAX_ACTOR]


@dataclass(frozen=True)
class AuditEntry:
    """One run, as the audit log records it (``seq``, ``prev`` and ``time`` are added
    when it is appended)."""

    run_id: str
    project: str
    systems: Sequence[str]
    command: str
    actor: str
    result: str
    counts: Mapping[str, int] = field(default_factory=dict)
    decision_id: str | None = None
    manifest_digest: str | None = None
    git_revision: str | None = None

    kind: ClassVar[str] = "run"

    @classmethod
    def from_run(cls, run: RunRecord) -> AuditEntry:
        return cls(
            run_id=run.id,
            project=run.project,
            systems=run.systems,
            command=run.command,
            actor=run.actor,
            result=run.result,
            counts=dict(run.counts),
            decision_id=run.decision_id,
            manifest_digest=run.manifest_digest,
            git_revision=run.git_revision,
        )

    def document(self, *, seq: int, prev: str, time: str) -> dict[str, Any]:
        doc = asdict(self)
        doc["systems"] = sorted(str(s) for s in self.systems)
        doc["counts"] = {str(k): int(v) for k, v in self.counts.items()}
        doc.update(kind=self.kind, seq=seq, prev=prev, time=time)
        return doc


@dataclass(frozen=True)
class DecisionEntry:
    """One ``decide`` verdict: which decision, allow or deny, how many results failed,
    warned or were waived, and who decided. Never a value: the decision contract holds
    none, and only its id and counts are copied."""

    project: str
    decision_id: str
    verdict: str
    actor: str
    counts: Mapping[str, int] = field(default_factory=dict)

    kind: ClassVar[str] = "decide"
    run_id: ClassVar[str | None] = None

    def document(self, *, seq: int, prev: str, time: str) -> dict[str, Any]:
        doc = asdict(self)
        doc["counts"] = {str(k): int(v) for k, v in self.counts.items()}
        doc.update(kind=self.kind, seq=seq, prev=prev, time=time)
        return doc


@dataclass(frozen=True)
class ResealEntry:
    """An operator's acknowledgement that the log lost lines: the head the journal had
    recorded, the line the file ended with instead (None: empty or missing), the sha256
    of every byte of the file before this line (what was accepted), the problems found,
    the reason and the actor. Written by ``converge audit reseal``; kept forever."""

    actor: str
    reason: str
    recorded: Mapping[str, Any] | None
    found: Mapping[str, Any] | None
    before: str
    lost: Sequence[int] | None = None
    problems: Sequence[str] = ()

    kind: ClassVar[str] = "reseal"
    run_id: ClassVar[str | None] = None

    def document(self, *, seq: int, prev: str, time: str) -> dict[str, Any]:
        doc = asdict(self)
        doc["recorded"] = dict(self.recorded) if self.recorded is not None else None
        doc["found"] = dict(self.found) if self.found is not None else None
        doc["lost"] = list(self.lost) if self.lost is not None else None
        doc["problems"] = list(self.problems)
        doc.update(kind=self.kind, seq=seq, prev=prev, time=time)
        return doc


Entry = AuditEntry | DecisionEntry | ResealEntry


@dataclass(frozen=True)
class AuditProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def audit_log_path(workspace_root: Path, setting: str) -> Path:
    """``converge.yaml``'s ``audit_log``, relative to the workspace."""
    path = Path(setting)
    return path if path.is_absolute() else Path(workspace_root) / path


def line_hash(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


def encode_line(doc: Mapping[str, Any]) -> bytes:
    """One entry's bytes (without newline): canonical JSON, so its hash is stable."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


class LogFile:
    """The audit log, open and ``flock``'d: exclusively to append, shared to read.

    The lock is the file's own, so every converge process (and an older one still
    running ``append_audit``) takes turns on the same inode."""

    def __init__(self, fd: int, path: Path) -> None:
        self.fd = fd
        self.path = path

    @classmethod
    @contextmanager
    def locked(cls, path: Path, *, exclusive: bool = True) -> Iterator[LogFile | None]:
        """The log, locked for the block; None (when only reading) if it does not exist."""
        if exclusive:
            path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT if exclusive else os.O_RDONLY
        try:
            fd = os.open(path, flags | os.O_CLOEXEC, 0o644)
        except FileNotFoundError:
            if exclusive:
                raise JournalError(f"cannot create the audit log {path}") from None
            yield None
            return
        except OSError as exc:
            raise JournalError(f"cannot open the audit log {path} ({exc.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield cls(fd, path)
        finally:
            os.close(fd)  # closing releases the flock

    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def read(self) -> bytes:
        return os.pread(self.fd, self.size(), 0)

    def last_line(self) -> tuple[bytes | None, bool]:
        """The last line's bytes (without newline) and whether it lacks its newline."""
        size = self.size()
        if size == 0:
            return None, False
        torn = os.pread(self.fd, 1, size - 1) != b"\n"
        end = size if torn else size - 1
        start, tail = end, b""
        while start > 0:
            start = max(0, start - _TAIL_CHUNK)
            tail = os.pread(self.fd, end - start, start)
            if b"\n" in tail:
                return tail[tail.rindex(b"\n") + 1 :], torn
        return tail, torn

    def write_line(self, data: bytes) -> None:
        """Append ``data`` (whole lines, newline included) in one ``write``, then fsync."""
        try:
            written = 0
            while written < len(data):
                written += os.write(self.fd, data[written:])
            os.fsync(self.fd)
        except OSError as exc:
            raise JournalError(
                f"cannot append to the audit log {self.path} ({exc.strerror})"
            ) from None

    def cut(self, size: int) -> None:
        """Drop every byte after ``size`` (a torn write converge itself left)."""
        try:
            os.ftruncate(self.fd, size)
            os.fsync(self.fd)
        except OSError as exc:
            raise JournalError(
                f"cannot repair the audit log {self.path} ({exc.strerror})"
            ) from None

    def next_seq(self, last: bytes | None) -> int:
        if last is None:
            return 1
        doc = parse_line(last)
        if doc is not None:
            return int(doc["seq"]) + 1
        # the last line is damaged: count lines instead
        return self.read().rstrip(b"\n").count(b"\n") + 2


def append_audit(path: Path, entry: Entry | RunRecord) -> str:
    """Append one entry under an exclusive lock; return the new line's sha256.

    The file alone: nothing is recorded in the journal (``engine.audit_trail`` appends
    the lines the journal anchors)."""
    if isinstance(entry, RunRecord):
        entry = AuditEntry.from_run(entry)
    with LogFile.locked(path) as log:
        assert log is not None
        last, torn = log.last_line()
        prev = line_hash(last) if last is not None else GENESIS
        line = encode_line(entry.document(seq=log.next_seq(last), prev=prev, time=utc_now()))
        log.write_line((b"\n" if torn else b"") + line + b"\n")
        return line_hash(line)


def parse_line(line: bytes) -> dict[str, Any] | None:
    """An entry's document, or None when the line is not one (edited or corrupt)."""
    try:
        doc = json.loads(line)
    except ValueError:
        return None
    if (
        not isinstance(doc, dict)
        or not isinstance(doc.get("seq"), int)
        or not isinstance(doc.get("prev"), str)
    ):
        return None
    return doc


@dataclass(frozen=True)
class ParsedLog:
    """The log's lines (without newlines), each parsed, and whether the last one is torn."""

    lines: list[bytes]
    docs: list[dict[str, Any] | None]
    torn: bool

    @classmethod
    def of(cls, data: bytes) -> ParsedLog:
        lines = data.split(b"\n")
        torn = lines[-1] != b""
        if not torn:
            lines.pop()
        return cls(lines, [parse_line(line) for line in lines], torn)

    def last_reseal(self) -> int | None:
        """The index of the last ``reseal`` line (its check starts a new segment)."""
        for index in range(len(self.docs) - 1, -1, -1):
            doc = self.docs[index]
            if doc is not None and doc.get("kind") == "reseal":
                return index
        return None

    def digest_before(self, index: int) -> str:
        """sha256 of every byte of the file before line ``index`` (0-based)."""
        return hashlib.sha256(b"".join(line + b"\n" for line in self.lines[:index])).hexdigest()


def check_chain(log: ParsedLog, *, reseal: int | None = None) -> list[AuditProblem]:
    """Every chain problem of the lines, or of those from the ``reseal`` line on (its
    index: it links to lines the reseal accepted, so the check begins with it)."""
    lines, docs = log.lines, log.docs
    problems: list[AuditProblem] = []
    if log.torn and lines:
        problems.append(AuditProblem(len(lines), "the last line is incomplete (no newline)"))
    start = reseal or 0
    first = docs[reseal] if reseal is not None else None
    first_seq = int(first["seq"]) if first is not None else 1
    seqs = [doc["seq"] if doc else None for doc in docs[start:]]
    order_problem = _check_order(seqs, problems, offset=start, first_seq=first_seq)
    for index in range(start, len(docs)):
        doc, number = docs[index], index + 1
        if doc is None:
            problems.append(AuditProblem(number, "not a valid audit entry (edited or corrupt)"))
            continue
        if index == reseal:
            continue  # the reseal's own line is vouched for by its digest (and the journal)
        expected = line_hash(lines[index - 1]) if index else GENESIS
        if doc["prev"] == expected or number in order_problem or index in order_problem:
            continue
        previous = docs[index - 1] if index else None
        if index == 0:
            problems.append(AuditProblem(1, "the first line does not start the chain"))
        elif previous is not None and doc["seq"] == int(previous["seq"]) + 1:
            problems.append(
                AuditProblem(
                    index,
                    f"line {index} was changed after it was written (line {number} "
                    "recorded a different hash of it)",
                )
            )
        elif previous is not None:
            problems.append(AuditProblem(number, f"line {number} does not follow line {index}"))
    return problems


def check_reseal_digest(log: ParsedLog, index: int) -> AuditProblem | None:
    """Were the lines a reseal accepted changed after it? (None: they are as accepted.)"""
    doc = log.docs[index]
    if doc is not None and doc.get("before") == log.digest_before(index):
        return None
    if index == 0:
        return AuditProblem(1, "lines were inserted before the reseal on line 1")
    return AuditProblem(
        index + 1,
        f"lines 1-{index} were changed after the reseal on line {index + 1} accepted them",
    )


def verify_audit_log(path: Path, *, head: str | None = None) -> list[AuditProblem]:
    """Every problem the file shows by itself, each with the line it concerns (empty:
    intact). Keyless: a last line edited or dropped, or a consistent rewrite, shows only
    against a ``head`` kept elsewhere (``engine.audit_trail`` keeps it in the journal)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [AuditProblem(0, "the audit log is missing")] if head else []
    log = ParsedLog.of(data)
    reseal = log.last_reseal()
    problems = check_chain(log, reseal=reseal)
    if reseal is not None:
        stale = check_reseal_digest(log, reseal)
        problems.extend([stale] if stale else [])
    if head is not None and log.lines and line_hash(log.lines[-1]) != head:
        problems.append(
            AuditProblem(
                len(log.lines),
                "the last line is not the recorded head: it was changed, or "
                "lines after it were removed",
            )
        )
    return sorted(problems, key=lambda p: p.line)


def _check_order(
    seqs: list[int | None], problems: list[AuditProblem], *, offset: int, first_seq: int
) -> set[int]:
    """Report removed, reordered and duplicated entries by ``seq``; return the line
    numbers involved (their broken ``prev`` is explained already)."""
    first_line: dict[int, int] = {}
    present = {s for s in seqs if s is not None}
    highest, involved = first_seq - 1, set()
    for index, seq in enumerate(seqs):
        number = offset + index + 1
        if seq is None:
            highest += 1  # a damaged line (reported apart) still took one position
            continue
        if seq in first_line:
            problems.append(
                AuditProblem(
                    number,
                    f"entry #{seq} appears twice (lines "
                    f"{first_line[seq]} and {number}): one of "
                    "them was inserted",
                )
            )
            involved.add(number)
        elif seq < highest:
            problems.append(
                AuditProblem(
                    number, f"entry #{seq} comes after entry #{highest}: lines were reordered"
                )
            )
            involved.add(number)
        elif seq > highest + 1:
            missing = [s for s in range(highest + 1, seq) if s not in present]
            if missing:
                span = f"#{missing[0]}" + (f"..#{missing[-1]}" if len(missing) > 1 else "")
                problems.append(AuditProblem(number, f"entry {span} before this line was removed"))
            else:
                problems.append(
                    AuditProblem(
                        number,
                        f"entry #{seq} comes before entry #{highest + 1}: lines were reordered",
                    )
                )
            involved.add(number)
        first_line.setdefault(seq, number)
        highest = max(highest, seq)
    return involved
