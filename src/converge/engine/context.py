"""One run context per command: what every engine and ops function needs besides the
project and the call's own options.

The CLI builds a ``RunContext`` once per command (``cli/run.py``) and hands it to
``plan_project``, ``apply_project``, ``detect_drift``, ``check_health``, the rollback and
rollout functions and the watch cycle, instead of threading the workspace, the vendor
environment, the journal, the request counter, the options, the test transports and the
Infisical credentials file through every call (kopf's settings/memo object does the same
for its handlers). A library caller builds one the same way::

    with open_journal(ws.settings.state, ws.root) as journal:
        context = RunContext(ws, env=os.environ, journal=journal)
        plan = plan_project(context, "journal")

What varies from call to call (systems, regions, command, adopt) stays an explicit
``ReconcileOptions``: ``context.options`` is the command's default, and callers pass
``dataclasses.replace(context.options, …)`` for a variation.

Vendor clients are built per project run (``VendorClients``, one per ``Session``) and not
kept here yet: ``VendorHttp`` answers repeated reads from memory until the next write,
which is right within one project run but not across the projects of a command or the
cycles of ``converge watch``. ``vendor_clients`` is the seam where one pooled client per
vendor per run goes, once that read cache is scoped to a project run.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from converge.config.workspace import Workspace
from converge.engine.clients import VendorClients
from converge.engine.fingerprint import fingerprint_key, key_id
from converge.engine.journal import Journal
from converge.errors import JournalError, RunInterrupted
from converge.vendors.http import RequestCounter, Transport


@dataclass(frozen=True)
class ReconcileOptions:
    """What one plan or apply does; the part of a run that varies from call to call."""

    systems: tuple[str, ...] | None = None  # None: every system the project declares
    adopt: bool = False
    allow_mass_delete: bool = False
    max_delete_share: float = 0.5
    command: str = "apply"
    # Supabase refs of these regions only (None inside selects the refs without a
    # region); None: every ref. Used by rollout to apply one wave at a time.
    regions: tuple[str | None, ...] | None = None


@dataclass
class RunContext:
    """Everything a command's runs share; built once, read by every function it calls.

    ``env`` is the vendor environment (credentials and base URLs: the process's
    environment, or the sandbox's), ``journal`` the workspace's run journal (None: plan
    and drift check without markers; apply needs one), ``counter`` tallies every vendor
    request of the command, ``transports`` maps a vendor to an in-process transport
    (tests), ``infisical_config`` is the Infisical credentials file (``--config``).
    Safe to share between threads (``apply --jobs``).
    """

    workspace: Workspace
    env: Mapping[str, str]
    journal: Journal | None = None
    counter: RequestCounter = field(default_factory=RequestCounter)
    options: ReconcileOptions = field(default_factory=ReconcileOptions)
    transports: Mapping[str, Transport] = field(default_factory=dict)
    infisical_config: Path | None = None
    sandbox: bool = False
    # Set (with the signal's number) by the CLI on SIGTERM/SIGINT: runs stop before their
    # next write, journaled and logged as interrupted (``request_stop``).
    stop: threading.Event = field(default_factory=threading.Event)
    stop_signal: int = 0
    _key: bytes | None = field(default=None, init=False, repr=False, compare=False)
    _key_lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    @property
    def fingerprint_key(self) -> bytes:
        """The key of the keyed fingerprints (``engine.fingerprint``), read or created
        once per run, so parallel projects all use the same one. Under CI with no key
        configured, ``CredentialsMissing`` (exit 4) outside the sandbox."""
        with self._key_lock:
            if self._key is None:
                self._key = fingerprint_key(
                    self.workspace.state_dir, self.env, local_key_allowed_in_ci=self.sandbox
                )
            return self._key

    @property
    def fingerprint_key_id(self) -> str:
        """The public id of ``fingerprint_key`` (what vendor markers record as ``kid``)."""
        return key_id(self.fingerprint_key)

    def request_stop(self, signal_number: int) -> None:
        """Ask every run of the command to stop before its next write (signal-safe)."""
        self.stop_signal = signal_number
        self.stop.set()

    def raise_if_stopped(self, project: str, command: str = "apply") -> None:
        """``RunInterrupted`` once a stop was requested (called between two writes)."""
        if not self.stop.is_set():
            return
        number = self.stop_signal or signal.SIGINT
        raise RunInterrupted(
            f"{command} of {project} was stopped by {signal.Signals(number).name} before "
            "its next write",
            signal_number=number,
            hint=f"resume with converge {command} {project}" if command == "apply" else "",
        )

    def require_journal(self) -> Journal:
        """The journal, for what must be journaled (apply, rollback, rollout, watch)."""
        if self.journal is None:
            raise JournalError("this command needs the run journal, and none was opened")
        return self.journal

    def transport(self, vendor: str) -> Transport | None:
        """The transport injected for ``vendor``, if any (else a real connection)."""
        return self.transports.get(vendor)

    def vendor_clients(self) -> VendorClients:
        """The vendor clients of one project run, built on first use; the caller closes
        them. Today a new set per call (see the module docstring for the pooling seam)."""
        return VendorClients(
            self.env,
            counter=self.counter,
            transports=self.transports,
            infisical_config=self.infisical_config,
        )
