#!/usr/bin/env python3
"""Benchmark: apply N generated projects against the sandbox, end to end.

Generates a workspace of N projects (``workspace_gen``: each shaped like journal, with its
own Infisical project, Vercel project and Supabase ref), starts ``converge sandbox serve``
on it (which creates what the projects name), runs the user's migration (20 tables per
ref) through the Management API, then times ``converge`` as a person runs it:
validate + decide + render, the first apply, a no-op plan and a no-op apply. Prints the
wall time, the requests per vendor (from the sandbox's request log) and the sandbox's CPU
time per step, then the disk the used Supabase databases take.

    .venv/bin/python benchmarks/bench_apply.py [--projects 10] [--jobs 4] [--latency 0]
        [--disk-only]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from workspace_gen import GeneratedProject, create_tables, generate_workspace

from converge_sandbox import pglocation
from converge_sandbox.registry import state_dir_for
from converge_sandbox.requestlog import fetch_request_log, reset_request_log

VENDORS = ("infisical", "vercel", "supabase")
EXPORTS = 8
MB = 1024 * 1024


def start_serve(root: Path, faults: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    command = [sys.executable, "-m", "converge.cli.main", "sandbox", "serve", "--workspace",
               str(root)]
    # Many projects in a minute: scale the documented limits (headers say so).
    env = {**os.environ, "CONVERGE_SANDBOX_FAULTS": faults,
           "CONVERGE_SANDBOX_RATE_LIMITS": "scale=1000"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    assert process.stdout is not None
    exports: dict[str, str] = {}
    while len(exports) < EXPORTS:
        line = process.stdout.readline()
        if not line:
            raise SystemExit(f"sandbox serve exited with {process.wait()}")
        name, _, value = line.strip().removeprefix("export ").partition("=")
        exports[name] = value
    return process, exports


def cpu_seconds(pid: int) -> float:
    """User+system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def converge(root: Path, *args: str, codes: tuple[int, ...] = (0,)) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("INFISICAL_", "VERCEL_", "SUPABASE_", "CONVERGE_"))}
    done = subprocess.run([sys.executable, "-m", "converge.cli.main", "--workspace",
                           str(root), *args], env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode not in codes:
        raise SystemExit(f"converge {' '.join(args)} exited {done.returncode}:\n"
                         f"{done.stdout[-2000:]}{done.stderr[-2000:]}")


class Steps:
    """Times steps and reads the sandbox's request log and CPU time around each."""

    def __init__(self, process: subprocess.Popen[str], base_url: str, projects: int):
        self.process = process
        self.base_url = base_url
        self.projects = projects
        self.rows: list[tuple[str, float, float, dict[str, int]]] = []

    def run(self, name: str, step: Callable[[], object]) -> None:
        reset_request_log(self.base_url)
        cpu = cpu_seconds(self.process.pid)
        started = time.perf_counter()
        step()
        wall = time.perf_counter() - started
        cpu = cpu_seconds(self.process.pid) - cpu
        log = fetch_request_log(self.base_url, limit=0)
        self.rows.append((name, wall, cpu, {v: log.count(vendor=v) for v in VENDORS}))

    def print(self) -> None:
        print(f"{'step':<26} {'wall s':>8} {'sandbox cpu s':>14} {'requests':>9} "
              f"{'per project (infisical/vercel/supabase)':>42}")
        for name, wall, cpu, counts in self.rows:
            per = "/".join(f"{counts[v] / self.projects:.1f}" for v in VENDORS)
            print(f"{name:<26} {wall:8.2f} {cpu:14.2f} {sum(counts.values()):9d} {per:>42}")


def database_sizes(api_url: str, token: str, refs: list[str]) -> list[int]:
    """``pg_database_size`` of each ref's database, asked through the Management API."""
    sizes = []
    with httpx.Client(timeout=60, trust_env=False) as client:
        for ref in refs:
            response = client.post(
                f"{api_url}/v1/projects/{ref}/database/query",
                json={"query": "select pg_database_size(current_database()) as size"},
                headers={"Authorization": f"Bearer {token}"},
            )
            response.raise_for_status()
            sizes.append(int(response.json()[0]["size"]))
    return sizes


def disk_use(path: Path) -> int:
    """Bytes allocated on disk under ``path`` (what ``du`` counts)."""
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_blocks * 512
            except OSError:
                continue
    return total


def print_disk(root: Path, env: dict[str, str], projects: list[GeneratedProject]) -> None:
    refs = [p.supabase_ref for p in projects]
    sizes = database_sizes(env["SUPABASE_API_URL"], env["SUPABASE_ACCESS_TOKEN"], refs)
    pointer = pglocation.read_pointer(state_dir_for(root) / "pg")
    print(f"Supabase databases: {len(refs)} used refs, "
          f"{sum(sizes) / len(sizes) / MB:.1f} MB each (pg_database_size), "
          f"{sum(sizes) / MB:.0f} MB in all")
    if pointer is not None:
        data = pointer.home / "pgdata"
        print(f"  cluster on disk: base {disk_use(data / 'base') / MB:.0f} MB, "
              f"WAL {disk_use(data / 'pg_wal') / MB:.0f} MB "
              f"(every database, the template and the example's included)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--latency", default="0ms", help="sandbox latency, e.g. 20ms")
    parser.add_argument("--disk-only", action="store_true",
                        help="only run the migration and print the disk it takes")
    args = parser.parse_args()
    faults = "" if args.latency in ("0", "0ms") else f"latency={args.latency}"
    with tempfile.TemporaryDirectory(prefix="converge-bench-") as tmp:
        root = Path(tmp) / "ws"
        started = time.perf_counter()
        projects = generate_workspace(root, args.projects)
        generated = time.perf_counter() - started
        started = time.perf_counter()
        process, env = start_serve(root, faults)
        try:
            served = time.perf_counter() - started
            steps = Steps(process, env["VERCEL_API_URL"], args.projects)
            steps.run("migration (20 tables)", lambda: create_tables(
                env["SUPABASE_API_URL"], env["SUPABASE_ACCESS_TOKEN"],
                [p.supabase_ref for p in projects]))
            if not args.disk_only:
                steps.run("validate+decide+render", lambda: [
                    converge(root, command, "--all") for command in ("validate", "decide",
                                                                     "render")])
                jobs = ("--jobs", str(args.jobs))
                steps.run("first apply", lambda: converge(root, "apply", "--all", *jobs))
                steps.run("no-op plan", lambda: converge(root, "plan", "--all"))
                steps.run("no-op apply", lambda: converge(root, "apply", "--all", *jobs))
            print(f"projects: {args.projects}  jobs: {args.jobs}  latency: {args.latency}  "
                  f"on {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
            print(f"generated in {generated:.2f} s; sandbox serving in {served:.2f} s")
            steps.print()
            print_disk(root, env, projects)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(60)
            pglocation.delete_cluster(state_dir_for(root) / "pg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
