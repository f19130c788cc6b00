"""Sandbox throughput: Vercel env list requests per second over keep-alive HTTP.

Starts ``converge sandbox serve`` in its own process (a throwaway workspace), adds a few
env vars to the seeded project, then lists them with ``GET /v10/projects/{id}/env`` from a
few threads, each with its own keep-alive connection, bounded in count and in time.
Prints requests/s and checks the sandbox's request log counted every request.

``--projects N`` serves a generated workspace of N projects instead (``workspace_gen``;
the sandbox creates their Vercel projects), each given the same 20 env vars first, so the
store holds what a N-project reconcile leaves and every lookup runs over it.

    .venv/bin/python benchmarks/bench_sandbox.py [--threads 4] [--requests 20000] [--seconds 10]
        [--projects 100]
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import httpx
from workspace_gen import generate_workspace

from converge_sandbox.requestlog import fetch_request_log, reset_request_log
from converge_sandbox.vercel.seed import project_id, team_id

TARGET_RPS = 1000.0
ENV_VARS = 20


def start_serve(workspace: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    command = [
        sys.executable,
        "-m",
        "converge.cli.main",
        "sandbox",
        "serve",
        "--workspace",
        str(workspace),
    ]
    # A benchmark asks far more than the documented 500 env reads a minute: scale the
    # limits (the sandbox then says so in X-Sandbox-RateLimit-Scale).
    env = {**os.environ, "CONVERGE_SANDBOX_FAULTS": "",
           "CONVERGE_SANDBOX_RATE_LIMITS": "scale=1000"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    assert process.stdout is not None
    exports: dict[str, str] = {}
    while len(exports) < 8:
        line = process.stdout.readline()
        if not line:
            raise SystemExit(f"sandbox serve exited with {process.wait()}")
        name, _, value = line.strip().removeprefix("export ").partition("=")
        exports[name] = value
    return process, exports


def cpu_seconds(pid: int) -> float | None:
    """User+system CPU time of a process (Linux /proc), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_clients(
    url: str, headers: dict[str, str], *, threads: int, total: int, seconds: float
) -> tuple[int, int, float]:
    """(ok, failed, elapsed) for ``total`` GETs shared by ``threads`` threads."""
    counts = [0, 0]
    lock = threading.Lock()
    remaining = [total]
    deadline = time.monotonic() + seconds

    parts = urllib.parse.urlsplit(url)
    target = f"{parts.path}?{parts.query}" if parts.query else parts.path

    def worker() -> None:
        # The stdlib client: far less CPU per request than httpx, so on 2 cores the
        # figure measures the sandbox rather than the load generator.
        ok = failed = 0
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port,
                                                timeout=10)
        try:
            while time.monotonic() < deadline:
                with lock:
                    if remaining[0] <= 0:
                        break
                    remaining[0] -= 1
                connection.request("GET", target, headers=headers)
                response = connection.getresponse()
                response.read()
                if response.status == 200:
                    ok += 1
                else:
                    failed += 1
        finally:
            connection.close()
        with lock:
            counts[0] += ok
            counts[1] += failed

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return counts[0], counts[1], time.perf_counter() - started


def add_env_vars(client: httpx.Client, url: str, headers: dict[str, str]) -> None:
    for i in range(ENV_VARS):
        created = client.post(
            url,
            headers=headers,
            json={
                "key": f"BENCH_{i}",
                "value": f"value-{i}",
                "type": "encrypted",
                "target": ["production", "preview"],
            },
        )
        created.raise_for_status()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--projects", type=int, default=0,
                        help="serve a generated workspace of N projects (0: the seeded world)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="converge-bench-") as tmp:
        names = ["journal-web"]
        if args.projects:
            projects = generate_workspace(Path(tmp), args.projects)
            names = [p.vercel_project for p in projects]
        process, env = start_serve(Path(tmp))
        try:
            base = env["VERCEL_API_URL"]
            headers = {"Authorization": f"Bearer {env['VERCEL_TOKEN']}"}
            with httpx.Client(timeout=30, trust_env=False) as client:
                for name in names:
                    add_env_vars(client, f"{base}/v10/projects/{project_id(name)}/env"
                                 f"?teamId={team_id()}", headers)
            # The middle project: a lookup by id must not depend on where it sits.
            listed = project_id(names[len(names) // 2])
            url = f"{base}/v10/projects/{listed}/env?teamId={team_id()}"
            run_clients(url, headers, threads=args.threads, total=200, seconds=5)  # warm-up
            reset_request_log(base)
            server_cpu, client_cpu = cpu_seconds(process.pid), time.process_time()
            ok, failed, elapsed = run_clients(
                url, headers, threads=args.threads, total=args.requests, seconds=args.seconds
            )
            server_after, client_cpu = cpu_seconds(process.pid), time.process_time() - client_cpu
            if server_after is not None and server_cpu is not None:
                server_cpu = server_after - server_cpu
            logged = fetch_request_log(base, limit=0).count(vendor="vercel", method="GET")
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)

    rps = ok / elapsed if elapsed else 0.0
    world = f"{args.projects} generated projects" if args.projects else "seeded world"
    print(
        f"vercel env list ({ENV_VARS} vars, {world}, {args.threads} threads, keep-alive): "
        f"{ok} ok, {failed} failed in {elapsed:.2f} s = {rps:,.0f} requests/s"
    )
    if server_cpu is not None and ok:
        print(f"CPU per request: server {server_cpu / ok * 1e6:.0f} us, client "
              f"{client_cpu / ok * 1e6:.0f} us; load average {os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} CPUs")
    print(f"request log counted {logged} GETs (expected {ok + failed})")
    print(f"target >= {TARGET_RPS:,.0f} requests/s: {'met' if rps >= TARGET_RPS else 'MISSED'}")
    return 0 if rps >= TARGET_RPS and failed == 0 and logged == ok + failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
