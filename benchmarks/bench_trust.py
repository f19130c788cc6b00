#!/usr/bin/env python3
"""Benchmark: what the trust gate adds to every command that reads ``.out/<p>/``.

Generates N projects shaped like the journal example (``bench_pipeline.generate``),
decides and renders them, then times, per project and in one process, what ``plan
--all`` does before its first vendor request:

* before the gate: read decision.json and check its hash, check the artifacts against
  manifest.json, parse the artifacts (the old ``load_desired``);
* the gate: read the folder, validate + decide + render in memory, compare the bytes,
  parse the artifacts (``engine.trust.trusted_artifacts``).

With ``--plan N``, also plans the three example projects N times (gate included)
against an in-process sandbox over loopback HTTP: the share of a ``plan --all`` the gate
takes when the vendors answer from the same machine (real vendors answer in tens of
milliseconds per request, so the share there is smaller still).

    .venv/bin/python benchmarks/bench_trust.py [--projects 1000] [--plan 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pipeline import generate  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument(
        "--plan", type=int, default=0, help="also plan the 3 example projects this many times"
    )
    args = parser.parse_args()

    from converge.config.workspace import open_workspace
    from converge.desired import parse_desired
    from converge.engine.pipeline import decide_project, render_project
    from converge.engine.trust import trusted_artifacts
    from converge.policies.contract import load_decision
    from converge.render.manifest import load_manifest, verify_artifacts

    today = dt.date(2026, 11, 26)
    with tempfile.TemporaryDirectory(prefix="converge-bench-trust-") as tmp:
        root = Path(tmp)
        names = generate(root, args.projects)
        workspace = open_workspace(root)
        for name in names:
            decide_project(workspace, name, today=today)
            render_project(workspace, name, today=today)

        def before(name: str) -> None:
            out_dir = workspace.out_dir(name)
            decision = load_decision(out_dir, name)
            texts = verify_artifacts(out_dir, name, decision.decision_id)
            digest = load_manifest(out_dir, name).digest
            parse_desired(name, decision.decision_id, digest, texts)

        def gate(name: str) -> None:
            trusted_artifacts(workspace, name, today=today)

        figures = {}
        for label, check in (("before the gate", before), ("trust gate", gate)):
            start = time.perf_counter()
            for name in names:
                check(name)
            figures[label] = time.perf_counter() - start
    print(f"projects: {args.projects} (one process)")
    for label, seconds in figures.items():
        print(f"  {label:<16} {seconds:7.2f} s  {1000 * seconds / args.projects:6.2f} ms/project")
    added = figures["trust gate"] - figures["before the gate"]
    print(f"the gate adds {1000 * added / args.projects:.2f} ms per project read")
    if args.plan:
        count, total, gated = plan_loop(args.plan, today)
        print(
            f"plan of {count} projects against the sandbox: {total:.2f} s "
            f"({1000 * total / count:.1f} ms/project), of which the gate {gated:.2f} s "
            f"({100 * gated / total:.0f} %)"
        )
    return 0


def plan_loop(rounds: int, today: dt.date) -> tuple[int, float, float]:
    """``plan`` of the three example projects, ``rounds`` times, against an in-process
    sandbox: (plans, total s, of which gate s)."""
    import shutil

    from converge.config.workspace import open_workspace
    from converge.engine.context import ReconcileOptions, RunContext
    from converge.engine.pipeline import decide_project, render_project
    from converge.engine.reconcile import plan_project
    from converge.engine.trust import trusted_artifacts
    from converge_sandbox.registry import state_dir_for
    from converge_sandbox.runner import start_sandbox

    with tempfile.TemporaryDirectory(prefix="converge-bench-plan-") as tmp:
        root = Path(tmp) / "ws"
        shutil.copytree(
            REPO / "examples" / "workspace",
            root,
            ignore=shutil.ignore_patterns(".out", ".converge", "*.log"),
        )
        workspace = open_workspace(root)
        names = workspace.project_names()
        for name in names:
            decide_project(workspace, name, today=today)
            render_project(workspace, name, today=today)
        gated = 0.0
        # No faults, no rate limits: the waits a vendor imposes are not the gate's cost.
        with start_sandbox(state_dir_for(root), faults="", rate_limits="off") as sandbox:
            sandbox.wait_seeded()
            options = ReconcileOptions(command="plan")
            context = RunContext(workspace, env=sandbox.env, options=options)
            for name in names:
                plan_project(context, name)  # warm up connections and imports
            start = time.perf_counter()
            for _ in range(rounds):
                for name in names:
                    t0 = time.perf_counter()
                    trusted = trusted_artifacts(workspace, name, today=today)
                    gated += time.perf_counter() - t0
                    plan_project(context, name, artifacts=trusted)
            total = time.perf_counter() - start
    return rounds * len(names), total, gated


if __name__ == "__main__":
    sys.exit(main())
