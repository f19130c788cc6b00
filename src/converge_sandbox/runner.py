"""Start and stop a whole sandbox in-process: store, credentials, PostgreSQL, three servers.

``start_sandbox(state_dir)`` is what ``converge sandbox serve``, ``--target sandbox`` and test
fixtures call. It returns a ``RunningSandbox`` (a context manager) once Infisical, Vercel and
Supabase accept connections on 127.0.0.1 ports N, N+1, N+2 (free ports by default).

PostgreSQL starts in a background thread (``DeferredDatabase``) and the vendors are seeded in
another (``gate``), so the HTTP servers accept in well under a second; a request waits only
for its own vendor's seed, and the first SQL call waits for PostgreSQL. The vendor
emulators are looked up lazily (``default_vendor_parts``) so tests can substitute their own.

``workspace`` (``converge_sandbox.wanted``: the vendor-side projects a workspace names) is
created right after each vendor's seed, before its gate opens, so no request sees the
workspace half-made; ``RunningSandbox.ensure`` and the control endpoint (``control``) add
the projects named later.
"""

from __future__ import annotations

import importlib
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from converge.errors import SandboxError
from converge_sandbox.control import (
    new_control_token,
    remove_control_token,
    write_control_token,
)
from converge_sandbox.faults import FaultSpec, parse_faults
from converge_sandbox.gate import ReadyGate
from converge_sandbox.middleware import QuotaOwner, SandboxMiddleware
from converge_sandbox.ratelimits import RateLimitSpec, parse_rate_limits
from converge_sandbox.registry import (
    PG_DIR,
    REQUEST_LOG_FILE,
    STATE_FILE,
    VENDORS,
    IssueExports,
    RunningInfo,
    read_running,
    remove_running,
    sandbox_env,
    vendor_exports,
    write_running,
)
from converge_sandbox.requestlog import RequestLog
from converge_sandbox.server import ServedGroup, bind_all, serve_apps
from converge_sandbox.store import SandboxStore
from converge_sandbox.wanted import NOTHING, WantedProjects, parse_wanted
from converge_sandbox.world import DatabaseProvider, SandboxCredentials, SandboxWorld

FAULTS_ENV = "CONVERGE_SANDBOX_FAULTS"
RATE_LIMITS_ENV = "CONVERGE_SANDBOX_RATE_LIMITS"


class DatabaseServer(DatabaseProvider, Protocol):
    """What the runner needs from ``postgres.PostgresServer``."""

    def stop(self) -> None: ...
    def pid(self) -> int | None: ...


StartDatabase = Callable[[Path], DatabaseServer]
# Creates the vendor's missing projects a workspace names; a line per object created.
EnsureProjects = Callable[[SandboxWorld, WantedProjects], list[str]]


def no_exports(world: SandboxWorld) -> dict[str, str]:
    return {}


@dataclass(frozen=True)
class VendorParts:
    """One emulator: its app factory, its seeding function, for a vendor that limits
    requests per account the factory of the hook naming the account a request is charged
    to (see ``middleware``; None charges every request to one shared account), what it
    issues when the sandbox prints its environment (Infisical: a login-issued access token),
    and how it creates the projects a workspace names (None: it creates none)."""

    create_app: Callable[[SandboxWorld], Any]
    seed: Callable[[SandboxWorld], None]
    quota_owner: Callable[[SandboxWorld], QuotaOwner] | None = None
    exports: IssueExports = no_exports
    ensure: EnsureProjects | None = None


# Vendors whose rate limits belong to the authenticated account (module with ``quota_owner``).
# Infisical counts per client IP, so a request is charged whoever sends it.
ACCOUNT_QUOTAS = {"vercel": "converge_sandbox.vercel.quota"}


def default_vendor_parts() -> dict[str, VendorParts]:
    """The real emulators (``converge_sandbox.<vendor>.app`` and ``.seed``), imported only
    when a sandbox starts."""
    parts: dict[str, VendorParts] = {}
    for vendor in VENDORS:
        app_module = importlib.import_module(f"converge_sandbox.{vendor}.app")
        seed_module = importlib.import_module(f"converge_sandbox.{vendor}.seed")
        workspace_module = importlib.import_module(f"converge_sandbox.{vendor}.workspace")
        quota = ACCOUNT_QUOTAS.get(vendor)
        owner = importlib.import_module(quota).quota_owner if quota else None
        parts[vendor] = VendorParts(
            app_module.create_app, seed_module.seed, owner, vendor_exports(vendor) or no_exports,
            workspace_module.ensure,
        )
    return parts


def default_start_database(data_dir: Path) -> DatabaseServer:
    from converge_sandbox.postgres import start_postgres

    server: DatabaseServer = start_postgres(data_dir)
    return server


class DeferredDatabase:
    """Starts PostgreSQL in a thread; ``database_url`` waits until it is up."""

    def __init__(self, start: StartDatabase, data_dir: Path, *, timeout: float = 60.0):
        self._server: DatabaseServer | None = None
        self._error: BaseException | None = None
        self._timeout = timeout
        self._stopped = False
        self._thread = threading.Thread(
            target=self._run, args=(start, data_dir), name="sandbox-postgres", daemon=True
        )
        self._thread.start()

    def _run(self, start: StartDatabase, data_dir: Path) -> None:
        try:
            self._server = start(data_dir)
        except BaseException as exc:  # reported to whoever asks for a database
            self._error = exc

    def wait(self, timeout: float | None = None) -> DatabaseServer:
        """The started server; SandboxError if it failed or is not up within ``timeout``."""
        self._thread.join(self._timeout if timeout is None else timeout)
        if self._server is not None:
            return self._server
        if self._error is not None:
            raise SandboxError(
                f"the sandbox PostgreSQL did not start: {self._error}",
                hint="set CONVERGE_SANDBOX_PG_URL to use another PostgreSQL server",
            ) from self._error
        raise SandboxError("the sandbox PostgreSQL is still starting")

    def database_url(self, ref: str) -> str:
        return self.wait().database_url(ref)

    def read_only_url(self, ref: str) -> str:
        return self.wait().read_only_url(ref)

    def server_version(self) -> str:
        return self.wait().server_version()

    def set_database_settings(self, ref: str, settings: Mapping[str, str]) -> list[str]:
        return self.wait().set_database_settings(ref, settings)

    def pid(self) -> int | None:
        try:
            return self.wait().pid()
        except SandboxError:
            return None

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._thread.join(self._timeout)
        if self._server is not None:
            self._server.stop()


class RunningSandbox:
    """A started sandbox. ``env`` holds the variables clients need (issued once its
    vendors are seeded); ``stop()`` ends it all."""

    def __init__(
        self,
        *,
        state_dir: Path,
        world: SandboxWorld,
        request_log: RequestLog,
        servers: ServedGroup,
        middlewares: dict[str, SandboxMiddleware],
        database: DeferredDatabase | None,
        seeding: threading.Thread,
        gates: dict[str, ReadyGate],
        exports: Mapping[str, IssueExports] | None = None,
        parts: Mapping[str, VendorParts] | None = None,
        created: dict[str, list[str]] | None = None,
        control_token: str | None = None,
    ):
        self.state_dir = state_dir
        self.world = world
        self.request_log = request_log
        self.servers = servers
        self.middlewares = middlewares
        self.database = database
        self.seeding = seeding
        self.gates = gates
        self.info = RunningInfo(pid=os.getpid(), ports=dict(servers.ports), started_at=time.time())
        self.exports = dict(exports or {})
        self.parts = dict(parts or {})
        # What the seed thread created of the workspace given at start, per vendor.
        self.created = created if created is not None else {}
        self.control_token = control_token
        self._env: dict[str, str] | None = None
        self._stopped = False
        self._lock = threading.Lock()

    @property
    def env(self) -> dict[str, str]:
        """``sandbox_env``, with what each vendor issues once it is seeded (the Infisical
        operator's access token comes from a login, so it waits for that seed); issued
        once and kept."""
        if self._env is None:
            issued: dict[str, str] = {}
            for vendor, issue in self.exports.items():
                gate = self.gates.get(vendor)
                if gate is not None:
                    if not gate.wait(60.0):
                        raise SandboxError(f"seeding the {vendor} emulator did not finish")
                    if gate.error is not None:
                        raise SandboxError(
                            f"seeding the {vendor} emulator failed: {gate.error}"
                        ) from gate.error
                issued.update(issue(self.world))
            self._env = sandbox_env(self.info, self.world.credentials, issued)
        return self._env

    def url(self, vendor: str) -> str:
        return self.servers.url(vendor)

    def record_running(self) -> None:
        if self.control_token is not None:
            write_control_token(self.state_dir, self.control_token)
        write_running(self.state_dir, self.info)

    def ensure(self, workspace: WantedProjects | Mapping[str, Any]) -> dict[str, list[str]]:
        """Create the projects ``workspace`` names that the emulators lack (after each
        vendor's seed): vendor -> lines created."""
        wanted = parse_wanted(workspace)
        self.wait_seeded()
        return {vendor: ensure(self.world, wanted)
                for vendor, part in self.parts.items() if (ensure := part.ensure) is not None}

    def wait_seeded(self, timeout: float = 60.0) -> None:
        """Block until every vendor is seeded; SandboxError naming one that failed."""
        for vendor, gate in self.gates.items():
            if not gate.wait(timeout):
                raise SandboxError(f"seeding the {vendor} emulator did not finish")
            if gate.error is not None:
                raise SandboxError(
                    f"seeding the {vendor} emulator failed: {gate.error}"
                ) from gate.error

    def record_database_pid(self) -> int | None:
        """Wait for PostgreSQL and add its pid to ``running.json``; None if none runs."""
        if self.database is None:
            return None
        pid = self.database.wait().pid()
        with self._lock:
            self.info = RunningInfo(self.info.pid, self.info.ports, self.info.started_at, pid)
            if not self._stopped:
                write_running(self.state_dir, self.info)
        return pid

    def stop(self) -> None:
        """Stop the servers, then PostgreSQL; idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        try:
            self.servers.stop()
            self.seeding.join(60.0)
            if self.database is not None:
                self.database.stop()
        finally:
            remove_running(self.state_dir, self.info.pid)
            if self.control_token is not None:
                remove_control_token(self.state_dir, self.control_token)
            self.request_log.close()
            self.world.store.close()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _ports(port_base: int | None) -> dict[str, int]:
    if port_base is None:
        return {}
    if not 1 <= port_base <= 65533:
        raise SandboxError(f"port base {port_base} is out of range", hint="use 1024-65533")
    return {vendor: port_base + i for i, vendor in enumerate(VENDORS)}


def _ensure_hook(
    parts: VendorParts, world: SandboxWorld
) -> Callable[[WantedProjects], list[str]] | None:
    """The vendor's ``ensure`` bound to ``world``, for the control endpoint."""
    ensure = parts.ensure
    if ensure is None:
        return None

    def hook(wanted: WantedProjects) -> list[str]:
        return ensure(world, wanted)

    return hook


def _quota_owner(parts: VendorParts, world: SandboxWorld) -> QuotaOwner | None:
    factory = parts.quota_owner
    return factory(world) if factory is not None else None


def _seed_all(
    world: SandboxWorld, parts: Mapping[str, VendorParts], gates: Mapping[str, ReadyGate],
    wanted: WantedProjects = NOTHING, created: dict[str, list[str]] | None = None,
) -> None:
    """Seed each vendor in turn and create the workspace's projects it lacks, opening its
    gate when done (or failed); ``created`` collects what was created, per vendor."""
    for vendor in VENDORS:
        try:
            parts[vendor].seed(world)
            ensure = parts[vendor].ensure
            made = ensure(world, wanted) if ensure is not None and not wanted.empty else []
            if created is not None:
                created[vendor] = made
        except Exception as exc:  # reported by wait_seeded and answered as 503
            gates[vendor].open(exc)
        else:
            gates[vendor].open()


def start_sandbox(
    state_dir: Path,
    *,
    faults: FaultSpec | str | None = None,
    rate_limits: RateLimitSpec | str | None = None,
    port_base: int | None = None,
    vendors: Mapping[str, VendorParts] | None = None,
    start_database: StartDatabase | None = default_start_database,
    record: bool = True,
    workspace: WantedProjects | Mapping[str, Any] | None = None,
) -> RunningSandbox:
    """Build the world over ``state_dir``, serve it, seed it and create the projects
    ``workspace`` names (``converge_sandbox.wanted``) in the background (requests wait for
    their vendor's seed), and (if ``record``) write ``running.json`` and the control token.

    ``faults``/``rate_limits`` default to their environment variables;
    ``start_database=None`` runs without PostgreSQL; a malformed ``workspace`` is a
    SandboxError before anything starts."""
    fault_spec = faults if isinstance(faults, FaultSpec) else parse_faults(
        os.environ.get(FAULTS_ENV) if faults is None else faults
    )
    limit_spec = rate_limits if isinstance(rate_limits, RateLimitSpec) else parse_rate_limits(
        os.environ.get(RATE_LIMITS_ENV) if rate_limits is None else rate_limits
    )
    ports = _ports(port_base)
    try:
        wanted = parse_wanted(workspace)
    except ValueError as exc:
        raise SandboxError(f"the workspace description is not valid: {exc}") from None
    if record and (running := read_running(state_dir)) is not None:
        raise SandboxError(
            f"a sandbox is already running for this workspace (pid {running.pid})",
            hint="use `converge sandbox env` to reach it",
        )
    parts = dict(vendors) if vendors is not None else default_vendor_parts()
    sockets = bind_all(VENDORS, ports)  # a busy port fails before anything starts
    store = SandboxStore(state_dir / STATE_FILE)
    log = RequestLog(state_dir / REQUEST_LOG_FILE)
    database = DeferredDatabase(start_database, state_dir / PG_DIR) if start_database else None
    gates = {vendor: ReadyGate() for vendor in VENDORS}
    created: dict[str, list[str]] = {}
    control_token = new_control_token()
    try:
        world = SandboxWorld(store, SandboxCredentials.load_or_create(store), database)
        middlewares = {
            vendor: SandboxMiddleware(
                parts[vendor].create_app(world),
                vendor=vendor,
                log=log,
                faults=fault_spec,
                rate_limits=limit_spec,
                gate=gates[vendor],
                quota_owner=_quota_owner(parts[vendor], world),
                ensure=_ensure_hook(parts[vendor], world),
                control_token=control_token,
            )
            for vendor in VENDORS
        }
        servers = serve_apps(middlewares, sockets=sockets)
        seeding = threading.Thread(
            target=_seed_all, args=(world, parts, gates, wanted, created), name="sandbox-seed",
            daemon=True,
        )
        seeding.start()
    except BaseException:
        for sock in sockets.values():
            sock.close()
        if database is not None:
            database.stop()
        log.close()
        store.close()
        raise
    sandbox = RunningSandbox(
        state_dir=state_dir,
        world=world,
        request_log=log,
        servers=servers,
        middlewares=middlewares,
        database=database,
        seeding=seeding,
        gates=gates,
        exports={vendor: parts[vendor].exports for vendor in VENDORS
                 if parts[vendor].exports is not no_exports},
        parts=parts,
        created=created,
        control_token=control_token if record else None,
    )
    if record:
        sandbox.record_running()
    return sandbox
