#!/usr/bin/env python3
"""`make demo`: run the converge pipeline on the example workspace and show what it made.

Each step is the real `converge` command a user would type, printed before it runs.
"""

from __future__ import annotations

import argparse
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
    args = parser.parse_args()
    workspace: Path = args.workspace.resolve()
    projects = sorted(p.name for p in (workspace / "projects").iterdir() if p.is_dir())
    print(
        "converge demo on "
        + str(workspace.relative_to(REPO) if workspace.is_relative_to(REPO) else workspace)
    )
    print(f"projects: {', '.join(projects)}")
    failures = 0
    if run("validate", "--all", workspace=workspace) != 0:
        return 1
    for project in projects:
        print(f"\n=== {project} ===", flush=True)
        if run("decide", project, workspace=workspace) != 0:
            failures += 1
            continue
        if run("render", project, workspace=workspace) != 0:
            failures += 1
            continue
        if run("render", project, "--check", workspace=workspace) != 0:
            failures += 1
    print()
    if failures:
        print(f"demo finished with {failures} failing project(s)")
        return 1
    print(f"demo complete: {len(projects)} projects validated, decided and rendered")
    return 0


if __name__ == "__main__":
    sys.exit(main())
