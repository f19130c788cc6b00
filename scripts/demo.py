#!/usr/bin/env python3
"""`make demo`: the whole converge pipeline on the example workspace, against the sandbox.

1. a fresh local sandbox (Infisical, Vercel and Supabase emulators on a real PostgreSQL);
2. for every example project: validate, decide, render, then `converge apply` (the brief's
   human output);
3. a second `converge apply --all`, showing that nothing changes: zero write requests in the
   sandbox's request log.

Each step is the real `converge` command a user would type, printed before it runs.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONVERGE = str(Path(sys.executable).parent / "converge")


def run(*args: str, workspace: Path) -> int:
    command = [CONVERGE, "--workspace", str(workspace), *args]
    shown = " ".join(shlex.quote(a) for a in ["converge", *args])
    print(f"\n$ {shown}", flush=True)
    return subprocess.run(command, check=False).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workspace", type=Path, default=REPO / "examples" / "workspace")
    parser.add_argument("--keep-state", action="store_true",
                        help="reuse the sandbox state of an earlier demo instead of a fresh one")
    args = parser.parse_args()
    workspace: Path = args.workspace.resolve()
    shown = workspace.relative_to(REPO) if workspace.is_relative_to(REPO) else workspace

    from converge_sandbox.registry import read_running, reset_state, state_dir_for
    from converge_sandbox.runner import start_sandbox

    state_dir = state_dir_for(workspace)
    if read_running(state_dir) is not None:
        print("a sandbox is already running for this workspace: stop it first "
              "(or run the commands by hand)", file=sys.stderr)
        return 1
    if not args.keep_state:
        reset_state(state_dir)
    projects = sorted(p.name for p in (workspace / "projects").iterdir() if p.is_dir())
    print(f"converge demo on {shown}: {', '.join(projects)}")
    print("starting the local sandbox (Infisical, Vercel, Supabase on a real PostgreSQL)…")
    os.environ.setdefault("NO_COLOR", "1")
    with start_sandbox(state_dir) as sandbox:
        sandbox.wait_seeded()
        if run("validate", "--all", workspace=workspace) != 0:
            return 1
        for project in projects:
            print(f"\n=== {project} ===", flush=True)
            for step in (("decide", project), ("render", project), ("apply", project)):
                if run(*step, workspace=workspace) != 0:
                    print(f"\ndemo failed at: converge {' '.join(step)}")
                    return 1
        print("\n=== second pass: nothing should change ===", flush=True)
        sandbox.request_log.reset()
        if run("apply", "--all", "--jobs", "3", workspace=workspace) != 0:
            return 1
        if run("plan", "--all", workspace=workspace) != 0:
            print("\ndemo failed: the plan after apply is not empty")
            return 1
        writes = sandbox.request_log.write_count()
        reads = len(sandbox.request_log.entries())
        print(f"\nsecond pass: {reads} read requests, {writes} write requests "
              "(sandbox request log)")
        if writes:
            print("demo failed: the second apply wrote to a vendor")
            return 1
    print(f"\ndemo complete: {len(projects)} projects validated, decided, rendered and applied; "
          "the second pass changed nothing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
