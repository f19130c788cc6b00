"""A separate process for the engine tests: it records journal operations, holds a lock,
begins a run that never finishes or appends audit lines, so tests can kill it mid-way or
run several at once.

Usage: ``python -m tests.engine.worker MODE WORKSPACE PROJECT [N]``; the journal's state
setting comes from ``$CONVERGE_TEST_STATE`` (a PostgreSQL URL holds a password, so it is
not passed on the command line). ``ready …`` on stdout means the work is recorded.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from converge.engine.audit import AuditEntry, append_audit
from converge.engine.audit_trail import open_trail
from converge.engine.journal import ChangeRef, open_journal
from converge.engine.locks import acquire_lock


def main(mode: str, workspace: Path, project: str, count: int) -> None:
    state = os.environ.get("CONVERGE_TEST_STATE", ".converge/state.db")
    if mode == "intent":
        journal = open_journal(state, workspace)
        run = journal.begin_run(project, systems=["vercel"], command="apply", actor="worker")
        done = journal.record_intent(run, ChangeRef("vercel", "env", "A", "update", "k-a"))
        journal.record_done(done, vendor_id="env_a", marker="1")
        update = journal.record_intent(run, ChangeRef("vercel", "env", "B", "update", "k-b"))
        delete = journal.record_intent(run, ChangeRef("vercel", "env", "C", "delete", "k-c"))
        journal.record_deleted(delete)
        print("ready", run.id, update, delete, flush=True)
        time.sleep(60)
    elif mode == "lock":
        target = open_journal(state, workspace) if state.startswith("postgres") \
            else workspace / ".converge"
        with acquire_lock(target, project, command="apply") as lock:
            lock.set_run_id("RUN-OF-WORKER")
            print("ready", flush=True)
            time.sleep(60)
    elif mode == "runs":
        journal = open_journal(state, workspace)
        for number in range(count):
            run = journal.begin_run(project, systems=["vercel"], command="apply",
                                    actor="worker", holds_lock=False)
            op = journal.record_intent(run, ChangeRef("vercel", "env", f"V{number}", "create",
                                                      f"k{number}"))
            journal.record_done(op, vendor_id=f"id{number}", marker=str(number))
            journal.finish_run(run, "succeeded", {"create": 1})
        print("ready", flush=True)
    elif mode == "run":
        journal = open_journal(state, workspace)
        trail = open_trail(workspace, journal)
        run = journal.begin_run(project, systems=["vercel"], command="apply", actor="worker",
                                audit_log=trail.key)
        print("ready", run.id, flush=True)
        time.sleep(60)
    elif mode == "append":
        for number in range(count):
            append_audit(workspace / "reconciliation.log", AuditEntry(
                run_id=f"{project}-{number}", project=project, systems=["vercel"],
                command="apply", actor="worker", result="succeeded"))
        print("ready", flush=True)
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4
         else 0)
