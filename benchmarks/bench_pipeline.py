#!/usr/bin/env python3
"""Benchmark: validate + decide + render for N generated projects (default 1,000).

Generates a workspace of N projects (``workspace_gen``: each shaped like journal, with its
own identities and vendor-side projects, plus the example's owners policy), then times each
stage through the library, in one process or spread over --jobs processes. Prints figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from workspace_gen import generate_workspace


def run_batch(root: str, names: list[str]) -> dict[str, float]:
    from converge.config.workspace import open_workspace
    from converge.engine.pipeline import decide_project, render_project, validate_project

    workspace = open_workspace(Path(root))
    today = dt.date(2026, 11, 26)
    timings = {"validate": 0.0, "decide": 0.0, "render": 0.0}
    for name in names:
        t0 = time.perf_counter()
        validate_project(workspace, name)
        t1 = time.perf_counter()
        decision = decide_project(workspace, name, today=today)
        if decision.verdict != "allow":
            raise SystemExit(f"{name}: unexpected deny")
        t2 = time.perf_counter()
        render_project(workspace, name)
        t3 = time.perf_counter()
        timings["validate"] += t1 - t0
        timings["decide"] += t2 - t1
        timings["render"] += t3 - t2
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="converge-bench-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        names = [p.name for p in generate_workspace(root, args.projects)]
        generated = time.perf_counter() - t0
        chunks = [names[i :: args.jobs] for i in range(args.jobs)]
        start = time.perf_counter()
        if args.jobs == 1:
            parts = [run_batch(str(root), names)]
        else:
            with ProcessPoolExecutor(max_workers=args.jobs) as pool:
                parts = list(pool.map(run_batch, [str(root)] * args.jobs, chunks))
        wall = time.perf_counter() - start
        files = sum(1 for _ in (root / ".out").rglob("*.*"))
    cpu = {k: sum(p[k] for p in parts) for k in ("validate", "decide", "render")}
    print(f"projects: {args.projects}  jobs: {args.jobs}  (generated in {generated:.1f} s)")
    for stage, seconds in cpu.items():
        print(
            f"  {stage:<9} {seconds:7.2f} s cpu  {1000 * seconds / args.projects:6.2f} ms/project"
        )
    print(
        f"validate + decide + render wall time: {wall:.2f} s for {args.projects} projects "
        f"({files} files written); target < 30 s"
    )
    return 0 if wall < 30 else 1


if __name__ == "__main__":
    sys.exit(main())
