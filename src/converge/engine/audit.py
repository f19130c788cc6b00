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
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

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
        doc.update(seq=seq, prev=prev, time=time)
        return doc


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


def append_audit(path: Path, entry: AuditEntry | RunRecord) -> str:
    """Append one entry under an exclusive lock; return the new line's sha256."""
    if isinstance(entry, RunRecord):
        entry = AuditEntry.from_run(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise JournalError(f"cannot open the audit log {path} ({exc.strerror})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        last, torn = _last_line(fd)
        prev = line_hash(last) if last is not None else GENESIS
        seq = _next_seq(fd, last)
        line = json.dumps(
            entry.document(seq=seq, prev=prev, time=utc_now()),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=True,
        ).encode()
        data = (b"\n" if torn else b"") + line + b"\n"
        written = 0
        while written < len(data):
            written += os.write(fd, data[written:])
        os.fsync(fd)
        return line_hash(line)
    except OSError as exc:
        raise JournalError(f"cannot append to the audit log {path} ({exc.strerror})") from None
    finally:
        os.close(fd)  # closing releases the flock


def _last_line(fd: int) -> tuple[bytes | None, bool]:
    """The last line's bytes (without newline) and whether it lacks its newline."""
    size = os.fstat(fd).st_size
    if size == 0:
        return None, False
    torn = os.pread(fd, 1, size - 1) != b"\n"
    end = size if torn else size - 1
    start, tail = end, b""
    while start > 0:
        start = max(0, start - _TAIL_CHUNK)
        tail = os.pread(fd, end - start, start)
        if b"\n" in tail:
            return tail[tail.rindex(b"\n") + 1 :], torn
    return tail, torn


def _next_seq(fd: int, last: bytes | None) -> int:
    if last is None:
        return 1
    doc = _parse(last)
    if doc is not None:
        return int(doc["seq"]) + 1
    size = os.fstat(fd).st_size  # the last line is damaged: count lines instead
    return os.pread(fd, size, 0).rstrip(b"\n").count(b"\n") + 2


def _parse(line: bytes) -> dict[str, Any] | None:
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


def verify_audit_log(path: Path, *, head: str | None = None) -> list[AuditProblem]:
    """Every problem in the chain, each with the line it concerns (empty: intact)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [AuditProblem(0, "the audit log is missing")] if head else []
    lines = data.split(b"\n")
    problems: list[AuditProblem] = []
    if lines[-1] == b"":
        lines.pop()
    elif lines:
        problems.append(AuditProblem(len(lines), "the last line is incomplete (no newline)"))
    docs = [_parse(line) for line in lines]
    seqs = [doc["seq"] if doc else None for doc in docs]
    order_problem = _check_order(seqs, problems)
    for index, doc in enumerate(docs):
        number = index + 1
        if doc is None:
            problems.append(AuditProblem(number, "not a valid audit entry (edited or corrupt)"))
            continue
        expected = line_hash(lines[index - 1]) if index else GENESIS
        if doc["prev"] == expected or number in order_problem or index in order_problem:
            continue
        if index == 0:
            problems.append(AuditProblem(1, "the first line does not start the chain"))
        elif docs[index - 1] is not None and seqs[index] == (seqs[index - 1] or 0) + 1:
            problems.append(
                AuditProblem(
                    index,
                    f"line {index} was changed after it was written (line {number} "
                    "recorded a different hash of it)",
                )
            )
        elif docs[index - 1] is not None:
            problems.append(AuditProblem(number, f"line {number} does not follow line {index}"))
    if head is not None and lines and line_hash(lines[-1]) != head:
        problems.append(
            AuditProblem(
                len(lines),
                "the last line is not the recorded head: it was changed, or "
                "lines after it were removed",
            )
        )
    return sorted(problems, key=lambda p: p.line)


def _check_order(seqs: list[int | None], problems: list[AuditProblem]) -> set[int]:
    """Report removed, reordered and duplicated entries by ``seq``; return the line
    numbers involved (their broken ``prev`` is explained already)."""
    first_line: dict[int, int] = {}
    present = {s for s in seqs if s is not None}
    highest, involved = 0, set()
    for index, seq in enumerate(seqs):
        number = index + 1
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
