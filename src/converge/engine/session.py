"""One project run's vendor clients and reconcilers, wired together.

A ``Session`` builds one pooled client per vendor on first use and the capabilities the
vendor packages need from each other without importing each other: Infisical resolves
references for Vercel and Supabase (client ids, minted client secrets, secrets), and
Vercel publishes Supabase's URL and anon key. ``open_session`` closes every client.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from converge.changes import SYSTEMS
from converge.desired import DesiredState
from converge.engine.context import ReconcileOptions, RunContext
from converge.policies.secrets import public_value_problem
from converge.vendors.base import CredentialLedger, SystemReconciler
from converge.vendors.infisical.client import InfisicalClient
from converge.vendors.infisical.reconciler import InfisicalReconciler
from converge.vendors.infisical.resolver import InfisicalResolver
from converge.vendors.supabase.client import SupabaseClient
from converge.vendors.supabase.reconciler import SupabaseReconciler
from converge.vendors.vercel.client import ProjectScope, VercelClient
from converge.vendors.vercel.holders import held_client_secrets
from converge.vendors.vercel.publisher import VercelPublisher
from converge.vendors.vercel.reconciler import VercelReconciler

__all__ = ["Session", "open_session", "public_value_check"]

COMMANDS_WITHOUT_FINGERPRINTS = frozenset({"health"})


def public_value_check(key: str, value: str) -> str | None:
    """The policies' check (secrets, unsafe characters), run again on every public value
    on its way out."""
    return public_value_problem(key, value)


class Session:
    """The vendor clients and reconcilers of one project run.

    ``systems`` are the project's systems, in apply order, that ``options`` selects.
    """

    def __init__(self, context: RunContext, desired: DesiredState, options: ReconcileOptions):
        self.context = context
        self.desired = desired
        self.options = options
        # Read (or create) the fingerprint key up front: a bad CONVERGE_FINGERPRINT_KEY, or
        # none in CI, stops the run before the first request. ``health`` compares no
        # sensitive value, so it runs without one.
        if options.command not in COMMANDS_WITHOUT_FINGERPRINTS:
            _ = self.key
        self.systems = tuple(
            s
            for s in SYSTEMS
            if s in desired.systems and (options.systems is None or s in options.systems)
        )
        self.clients = context.vendor_clients()
        self._reconcilers: list[SystemReconciler] = []
        self._resolver: InfisicalResolver | None = None
        self.ledger: CredentialLedger | None = None

    @property
    def key(self) -> bytes:
        """The run's fingerprint key (``RunContext.fingerprint_key``, read once per run)."""
        return self.context.fingerprint_key

    def set_ledger(self, ledger: CredentialLedger) -> None:
        """Journal the credentials this session mints (apply, once its run has begun)."""
        self.ledger = ledger
        if self._resolver is not None:
            self._resolver.ledger = ledger

    # -- clients, built on first use --------------------------------------------------

    def infisical(self) -> InfisicalClient:
        return self.clients.infisical()

    def vercel(self) -> VercelClient:
        return self.clients.vercel()

    def supabase(self) -> SupabaseClient:
        return self.clients.supabase()

    def resolver(self) -> InfisicalResolver | None:
        scope = (self.desired.vercel and self.desired.vercel.references) or (
            self.desired.supabase and self.desired.supabase.references
        )
        if not scope:
            return None
        if self._resolver is None:
            self._resolver = InfisicalResolver(
                self.infisical(),
                organization=scope.organization,
                project=self.desired.project,
                infisical_project=scope.project,
                environments=scope.environments,
            )
            self._resolver.ledger = self.ledger
        return self._resolver

    def held_credentials(self, refs: tuple[str, ...]) -> frozenset[str] | None:
        """The client secret ids converge's Vercel variables of this project hold (None:
        some variable of ``refs`` does not say; see ``vercel.holders``)."""
        vercel = self.desired.vercel
        if vercel is None:
            return frozenset()
        return held_client_secrets(
            self.vercel(), ProjectScope(team=vercel.team, project=vercel.project),
            project=self.desired.project, refs=refs,
        )

    def reconciler(self, system: str) -> SystemReconciler:
        """A new reconciler of ``system``, closed with the session."""
        built = self._build(system)
        self._reconcilers.append(built)
        return built

    def _build(self, system: str) -> SystemReconciler:
        desired = self.desired
        if system == "infisical":
            return InfisicalReconciler(desired, self.infisical(), adopt=self.options.adopt)
        if system == "vercel":
            assert desired.vercel is not None
            return VercelReconciler(
                desired.vercel,
                self.vercel(),
                project=desired.project,
                resolver=self.resolver(),
                fingerprint_key=self.key,
                public_value_check=public_value_check,
                adopt=self.options.adopt,
            )
        assert desired.supabase is not None
        client = self.supabase()  # its credentials are checked first: they name the problem
        publisher = None
        if desired.supabase.publish_to is not None and desired.supabase.publish:
            team, vproject = desired.supabase.publish_to
            publisher = VercelPublisher(
                self.vercel(),
                scope=ProjectScope(team=team, project=vproject),
                project=desired.project,
                fingerprint_key=self.key,
                public_value_check=public_value_check,
            )
        return SupabaseReconciler(
            desired.supabase,
            client,
            project=desired.project,
            resolver=self.resolver(),
            publisher=publisher,
        )

    def close(self) -> None:
        """Close the reconcilers built (the contract's last hook), then the clients."""
        for reconciler in reversed(self._reconcilers):
            reconciler.close()
        self._reconcilers.clear()
        self.clients.close()


@contextmanager
def open_session(
    context: RunContext, desired: DesiredState, options: ReconcileOptions
) -> Iterator[Session]:
    """A ``Session`` closed at the end of the block, whatever happened in it."""
    session = Session(context, desired, options)
    try:
        yield session
    finally:
        session.close()
