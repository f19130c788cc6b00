"""Where a workspace's sandbox lives on disk, and how other processes find it running.

Layout under ``<workspace>/.converge/sandbox/``:

- ``state.db``: the emulators' objects and the sandbox credentials (``SandboxStore``);
- ``pg/``: the PostgreSQL cluster the Supabase emulator runs SQL on, or a pointer to where
  it lives when the account running PostgreSQL cannot reach the workspace (``pglocation``);
- ``requests.jsonl``: the request log (appended in batches);
- ``running.json``: pid and ports of the sandbox serving this workspace, written once all
  servers accept and removed when it stops; a stale file (dead pid) counts as not running;
- ``control.key``: the running sandbox's control token (mode 0600; ``control``).
"""

from __future__ import annotations

import importlib
import json
import shutil
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from converge.errors import SandboxError
from converge.util.processes import pid_alive
from converge_sandbox import pglocation
from converge_sandbox.serving import LOOPBACK
from converge_sandbox.store import SandboxStore
from converge_sandbox.world import SandboxCredentials, SandboxWorld

VENDORS = ("infisical", "vercel", "supabase")
WORKSPACE_MARKER = "converge.yaml"
RUNNING_FILE = "running.json"
CONTROL_FILE = "control.key"  # see converge_sandbox.control
STATE_FILE = "state.db"
REQUEST_LOG_FILE = "requests.jsonl"
PG_DIR = "pg"


def find_workspace(start: Path | None = None) -> Path:
    """The nearest directory from ``start`` (default: cwd) upwards holding converge.yaml,
    else ``start`` itself."""
    origin = (start or Path.cwd()).resolve()
    for candidate in (origin, *origin.parents):
        if (candidate / WORKSPACE_MARKER).is_file():
            return candidate
    return origin


def state_dir_for(workspace: Path) -> Path:
    return workspace / ".converge" / "sandbox"


@dataclass(frozen=True)
class RunningInfo:
    """What ``running.json`` records about a live sandbox (no secrets)."""

    pid: int
    ports: dict[str, int]
    started_at: float
    postgres_pid: int | None = None

    def url(self, vendor: str) -> str:
        return f"http://{LOOPBACK}:{self.ports[vendor]}"


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.5):
            return True
    except OSError:
        return False


def write_running(state_dir: Path, info: RunningInfo) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    tmp = state_dir / (RUNNING_FILE + ".tmp")
    tmp.write_text(json.dumps(asdict(info), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(state_dir / RUNNING_FILE)


def remove_running(state_dir: Path, pid: int) -> None:
    """Remove ``running.json`` if it still names ``pid``."""
    info = _read_file(state_dir)
    if info is not None and info.pid == pid:
        (state_dir / RUNNING_FILE).unlink(missing_ok=True)


def _read_file(state_dir: Path) -> RunningInfo | None:
    try:
        doc = json.loads((state_dir / RUNNING_FILE).read_text(encoding="utf-8"))
        return RunningInfo(
            pid=int(doc["pid"]),
            ports={str(k): int(v) for k, v in doc["ports"].items()},
            started_at=float(doc["started_at"]),
            postgres_pid=doc.get("postgres_pid"),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def read_running(state_dir: Path) -> RunningInfo | None:
    """The sandbox serving this state dir, if its process is alive and it accepts."""
    info = _read_file(state_dir)
    if info is None or not pid_alive(info.pid):
        return None
    if not info.ports or not all(_accepts(p) for p in info.ports.values()):
        return None
    return info


def sandbox_env(
    info: RunningInfo, credentials: SandboxCredentials, issued: Mapping[str, str]
) -> dict[str, str]:
    """The variables a converge command or a vendor client needs, in a stable order.

    ``issued`` holds what the emulators issue at print time (``INFISICAL_TOKEN``, an
    access token from a fresh universal-auth login)."""
    env = {
        "INFISICAL_API_URL": info.url("infisical"),
        "INFISICAL_CLIENT_ID": credentials.infisical_client_id,
        "INFISICAL_CLIENT_SECRET": credentials.infisical_client_secret,
        "INFISICAL_TOKEN": issued.get("INFISICAL_TOKEN", ""),
        "VERCEL_API_URL": info.url("vercel"),
        "VERCEL_TOKEN": credentials.vercel_token,
        "SUPABASE_API_URL": info.url("supabase"),
        "SUPABASE_ACCESS_TOKEN": credentials.supabase_access_token,
    }
    return {name: value for name, value in env.items() if value}


IssueExports = Callable[[SandboxWorld], dict[str, str]]


def vendor_exports(vendor: str) -> IssueExports | None:
    """``converge_sandbox.<vendor>.seed.exports``: what that emulator issues at print time."""
    module = importlib.import_module(f"converge_sandbox.{vendor}.seed")
    found: IssueExports | None = getattr(module, "exports", None)
    return found


def running_env(state_dir: Path, *, seed_timeout: float = 30.0) -> dict[str, str]:
    """``sandbox_env`` for the sandbox running on ``state_dir``; SandboxError if none.

    The emulators issue their part from this process (the Infisical operator logs in
    anew); the running server reads the token's record from disk when it is first used.
    A sandbox that has just started may still be seeding: this waits for it (re-reading
    the store) up to ``seed_timeout`` seconds."""
    info = read_running(state_dir)
    if info is None:
        raise SandboxError(
            f"no sandbox is running for {state_dir.parent.parent}",
            hint="start one with `converge sandbox serve`",
        )
    deadline = time.monotonic() + seed_timeout
    while True:
        try:
            return sandbox_env(info, *_issue(state_dir))
        except LookupError as unseeded:
            if time.monotonic() >= deadline:
                raise SandboxError(
                    f"the sandbox's {unseeded.args[0]} emulator is not seeded yet",
                    hint="wait a moment and run `converge sandbox env` again",
                ) from None
            time.sleep(0.2)


def _issue(state_dir: Path) -> tuple[SandboxCredentials, dict[str, str]]:
    """The stored credentials and what each emulator issues now; LookupError naming the
    vendor whose emulator is not seeded yet."""
    store = SandboxStore(state_dir / STATE_FILE)
    try:
        credentials = SandboxCredentials.load_or_create(store)
        world = SandboxWorld(store, credentials)
        issued: dict[str, str] = {}
        for vendor in VENDORS:
            issue = vendor_exports(vendor)
            if issue is None:
                continue
            try:
                issued.update(issue(world))
            except LookupError:
                raise LookupError(vendor) from None
    finally:
        store.close()
    return credentials, issued


def _live_postmaster(pg_dir: Path) -> int | None:
    """The pid of a PostgreSQL server running on this workspace's own cluster, if any."""
    pointer = pglocation.read_pointer(pg_dir)
    for home in (pointer.home if pointer else None, pglocation.legacy_home(pg_dir)):
        if home is not None and (pid := pglocation.live_postmaster(home)) is not None:
            return pid
    return None


def reset_state(state_dir: Path) -> list[Path]:
    """Delete the sandbox's state, including its PostgreSQL cluster wherever it lives, and
    the clusters of workspaces that no longer exist; refuses while a sandbox (or its
    PostgreSQL) runs for this workspace.

    Returns the paths removed. Credentials are regenerated by the next ``serve``.
    """
    info = read_running(state_dir)
    if info is not None:
        raise SandboxError(
            f"a sandbox is running for this workspace (pid {info.pid})",
            hint="stop it (Ctrl-C in its terminal) and run reset again",
        )
    postmaster = _live_postmaster(state_dir / PG_DIR)
    if postmaster is not None:
        raise SandboxError(
            f"the sandbox's PostgreSQL is still running (pid {postmaster})",
            hint="stop it, or wait for the sandbox that started it to exit",
        )
    removed: list[Path] = []
    if (state_dir / PG_DIR).is_dir():
        removed += pglocation.delete_cluster(state_dir / PG_DIR)
    for name in (STATE_FILE, STATE_FILE + "-wal", STATE_FILE + "-shm", REQUEST_LOG_FILE,
                 RUNNING_FILE, CONTROL_FILE, PG_DIR):
        path = state_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        else:
            continue
        removed.append(path)
    removed += pglocation.remove_stale_clusters()
    return removed
