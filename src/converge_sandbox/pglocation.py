"""Where a sandbox's PostgreSQL cluster lives, and cleaning up the ones nobody serves.

Why a module of its own: a cluster must belong to exactly one workspace. A copied workspace
(``cp -r``) must never reach the original's cluster (two copies would stop each other's
database), and the clusters kept outside a workspace must not outlive it.

``<data_dir>/postgres.json`` (mode 0600) is the pointer: ``{"layout", "home", "workspace",
"password"}``.

* When the account that runs PostgreSQL can reach ``data_dir``, the cluster lives inside
  it and ``home`` is the relative path ``postgres``: a copy of the folder carries a copy of
  the cluster, never a path back to the original.
* Otherwise it lives in ``$CONVERGE_SANDBOX_PG_RUNTIME_DIR`` (default
  ``/var/tmp/converge-sandbox-pg``) under a name derived from ``data_dir``'s real path;
  ``home`` is absolute and ``workspace`` records that real path. A pointer whose
  ``workspace`` is another folder is a copy's: it is ignored and this folder gets a
  cluster of its own. Such a home holds ``workspace.json`` naming the folder it serves,
  so ``remove_stale_clusters`` can delete the homes of folders that no longer exist (or
  that point elsewhere now); ``converge sandbox reset`` calls it.

Layout 2 is the cluster whose bootstrap superuser is ``supabase_admin`` (``pgtemplate``).
Clusters made before it (superuser ``postgres``, no ``layout``) are replaced on first start.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from converge.errors import SandboxError
from converge.util.processes import pid_alive

ENV_RUNTIME_DIR = "CONVERGE_SANDBOX_PG_RUNTIME_DIR"
DEFAULT_RUNTIME_DIR = Path("/var/tmp/converge-sandbox-pg")
POINTER = "postgres.json"
LAYOUT = 2
LOCAL_HOME = "postgres"
_MARKER = "workspace.json"
_HOME_NAME_LENGTH = 16
_YOUNG_S = 5.0  # a home this new may still be being set up by another process


@dataclass(frozen=True)
class Pointer:
    """A workspace's cluster: where it lives and its secret (the superuser's password)."""

    home: Path
    password: str


def runtime_dir() -> Path:
    return Path(os.environ.get(ENV_RUNTIME_DIR) or DEFAULT_RUNTIME_DIR)


def runtime_home(data_dir: Path) -> Path:
    """The home kept outside ``data_dir`` for it: named after its real path."""
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:_HOME_NAME_LENGTH]
    return runtime_dir() / digest


def read_pointer(data_dir: Path) -> Pointer | None:
    """This folder's own cluster (layout 2), or None: no pointer, an older layout, or a
    pointer copied from another folder."""
    doc = _load(data_dir)
    if doc is None or doc.get("layout") != LAYOUT:
        return None
    home = Path(str(doc.get("home", "")))
    if not home.is_absolute():
        return Pointer(data_dir / home, str(doc["password"]))
    if doc.get("workspace") != str(data_dir.resolve()):
        return None  # copied from another workspace: that cluster is not ours
    return Pointer(home, str(doc["password"]))


def legacy_home(data_dir: Path) -> Path | None:
    """The cluster an older sandbox made for this very folder (superuser ``postgres``)."""
    doc = _load(data_dir)
    if doc is None or doc.get("layout") == LAYOUT or "home" not in doc:
        return None
    home = Path(str(doc["home"]))
    ours = {data_dir.resolve() / LOCAL_HOME, runtime_home(data_dir)}
    return home if home in ours else None


def create_pointer(data_dir: Path, *, local: bool) -> Pointer:
    """A new cluster location for ``data_dir`` (inside it when ``local``) and secret."""
    data_dir = data_dir.resolve()
    password = secrets.token_hex(16)
    if local:
        home_doc: str = LOCAL_HOME
        home = data_dir / LOCAL_HOME
    else:
        home = runtime_home(data_dir)
        home_doc = str(home)
    doc = {"layout": LAYOUT, "home": home_doc, "workspace": str(data_dir),
           "password": password}
    path = data_dir / POINTER
    tmp = path.with_name(POINTER + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(doc, handle)
    os.replace(tmp, path)
    return Pointer(home, password)


def mark_home(home: Path, data_dir: Path) -> None:
    """Record in a home outside the workspace which folder it serves."""
    if home.is_relative_to(runtime_dir()):
        (home / _MARKER).write_text(json.dumps({"workspace": str(data_dir.resolve())}))


def clear_home(home: Path) -> None:
    """Remove a cluster's files; refuses while a postmaster runs there."""
    pid = live_postmaster(home)
    if pid is not None:
        raise SandboxError(
            f"a PostgreSQL server (pid {pid}) still runs on the cluster in {home}",
            hint="stop the sandbox that started it, then try again",
        )
    shutil.rmtree(home, ignore_errors=True)


def stop_orphan(home: Path, owner_alive: bool) -> None:
    """Stop a postmaster left on ``home`` by a process that has died (fast shutdown)."""
    pid = live_postmaster(home)
    if pid is None:
        return
    if owner_alive:
        raise SandboxError(
            f"an older sandbox's PostgreSQL (pid {pid}) still runs for this workspace",
            hint="stop that sandbox, then start this one again",
        )
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + 20
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def delete_cluster(data_dir: Path) -> list[Path]:
    """Remove this folder's cluster files and its pointer (its server must be stopped).

    A copied pointer's cluster belongs to another folder and is left alone. Returns the
    homes removed."""
    removed: list[Path] = []
    for home in (_home_of(data_dir), legacy_home(data_dir)):
        if home is not None and home.exists():
            clear_home(home)
            removed.append(home)
    (data_dir / POINTER).unlink(missing_ok=True)
    return removed


def remove_stale_clusters(base: Path | None = None) -> list[Path]:
    """Delete the homes under the runtime directory that no workspace points to any more
    (its folder was deleted, reset, or now uses another cluster) and no server runs on.
    Returns the homes removed."""
    base = runtime_dir() if base is None else base
    removed: list[Path] = []
    try:
        candidates = sorted(base.iterdir())
    except OSError:
        return removed
    now = time.time()
    for home in candidates:
        if not _is_home_name(home.name) or not home.is_dir():
            continue
        with contextlib.suppress(OSError):
            if now - home.stat().st_mtime < _YOUNG_S or _still_served(home):
                continue
            if live_postmaster(home) is None:
                shutil.rmtree(home, ignore_errors=True)
                removed.append(home)
    return removed


def live_postmaster(home: Path) -> int | None:
    """The pid in ``<home>/pgdata/postmaster.pid`` when that process is alive."""
    try:
        text = (home / "pgdata" / "postmaster.pid").read_text(encoding="utf-8")
        pid = int(text.split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if pid_alive(pid) else None


def _home_of(data_dir: Path) -> Path | None:
    pointer = read_pointer(data_dir)
    return None if pointer is None else pointer.home


def _still_served(home: Path) -> bool:
    """True when the folder named in the home's marker still points at this home."""
    try:
        workspace = Path(json.loads((home / _MARKER).read_text())["workspace"])
    except (OSError, ValueError, KeyError, TypeError):
        return False  # an older sandbox's home (no marker): nothing can use it any more
    pointer = read_pointer(workspace)
    return pointer is not None and pointer.home == home


def _is_home_name(name: str) -> bool:
    return len(name) == _HOME_NAME_LENGTH and all(c in "0123456789abcdef" for c in name)


def _load(data_dir: Path) -> dict[str, object] | None:
    try:
        doc = json.loads((data_dir / POINTER).read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None
