"""Sandbox start-up: ``converge sandbox serve`` until the export lines, until the first SQL
answer, and the disk size of one project's database.

Starts ``converge sandbox serve`` in its own process on a throwaway workspace, twice: cold
(a new PostgreSQL cluster: initdb, roles, template database) and warm (the same workspace
again: the cluster exists). For each run it prints the seconds until the 8 ``export`` lines
are printed and until ``POST /v1/projects/{ref}/database/query`` first answers 201 (the
database is up, bootstrapped and the seeded project's database exists), then the size of
that database as PostgreSQL reports it (``pg_database_size``) and removes the workspace
with ``converge sandbox reset``.

    .venv/bin/python benchmarks/bench_sandbox_start.py [--runs 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REF = "journalprodqzvtkwmrx"
EXPORTS = 8


def serve(workspace: Path) -> tuple[subprocess.Popen[str], dict[str, str], float]:
    """The serve process, its exports and the seconds until they were all printed."""
    command = [sys.executable, "-m", "converge.cli.main", "sandbox", "serve",
               "--workspace", str(workspace)]
    env = {**os.environ, "CONVERGE_SANDBOX_FAULTS": "", "CONVERGE_SANDBOX_RATE_LIMITS": "off"}
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    assert process.stdout is not None
    exports: dict[str, str] = {}
    while len(exports) < EXPORTS:
        line = process.stdout.readline()
        if not line:
            raise SystemExit(f"sandbox serve exited with {process.wait()}")
        name, _, value = line.strip().removeprefix("export ").partition("=")
        exports[name] = value.strip("'")
    return process, exports, time.perf_counter() - started


def first_sql(exports: dict[str, str], started: float) -> tuple[float, int]:
    """Seconds (from ``started``) until the query endpoint answers, and the database size."""
    url = f"{exports['SUPABASE_API_URL']}/v1/projects/{REF}/database/query"
    headers = {"Authorization": f"Bearer {exports['SUPABASE_ACCESS_TOKEN']}"}
    body = {"query": "select pg_database_size(current_database()) as size"}
    with httpx.Client(timeout=120) as client:
        response = client.post(url, json=body, headers=headers)
    if response.status_code != 201:
        raise SystemExit(f"query answered {response.status_code}: {response.text}")
    return time.perf_counter() - started, int(response.json()[0]["size"])


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)
    process.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="starts on the same workspace")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="converge-bench-start-"))
    workspace = base / "ws"
    shutil.copytree(Path(__file__).resolve().parent.parent / "examples" / "workspace",
                    workspace, ignore=shutil.ignore_patterns(".out", ".converge"))
    try:
        for run in range(args.runs):
            label = "cold" if run == 0 else "warm"
            before = time.perf_counter()
            process, exports, to_exports = serve(workspace)
            try:
                to_sql, size = first_sql(exports, before)
            finally:
                stop(process)
            print(f"{label}: exports after {to_exports:.2f} s, first SQL answer after "
                  f"{to_sql:.2f} s, database {REF}: {size / 1e6:.1f} MB")
    finally:
        subprocess.run([sys.executable, "-m", "converge.cli.main", "sandbox", "reset",
                        "--workspace", str(workspace)], check=False, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
