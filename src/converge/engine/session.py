"""One project run's vendor clients and reconcilers, wired together.

A ``Session`` builds one pooled client per vendor on first use and the capabilities the
vendor packages need from each other without importing each other: Infisical resolves
references for Vercel and Supabase (client ids, minted client secrets, secrets), and
Vercel publishes Supabase's URL and anon key. ``open_session`` closes every client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from converge.changes import SYSTEMS
from converge.config.workspace import Workspace
from converge.desired import DesiredState, InfisicalTarget
from converge.engine.fingerprint import fingerprint_key
from converge.policies.secrets import public_value_problem
from converge.vendors.base import SystemReconciler
from converge.vendors.http import RequestCounter
from converge.vendors.infisical.client import InfisicalClient
from converge.vendors.infisical.reconciler import InfisicalReconciler
from converge.vendors.infisical.resolver import InfisicalResolver
from converge.vendors.supabase.client import SupabaseClient
from converge.vendors.supabase.reconciler import SupabaseReconciler
from converge.vendors.vercel.client import ProjectScope, VercelClient
from converge.vendors.vercel.publisher import VercelPublisher
from converge.vendors.vercel.reconciler import VercelReconciler


@dataclass(frozen=True)
class ReconcileOptions:
    systems: tuple[str, ...] | None = None  # None: every system the project declares
    adopt: bool = False
    allow_mass_delete: bool = False
    max_delete_share: float = 0.5
    command: str = "apply"
    # Supabase refs of these regions only (None inside selects the refs without a
    # region); None: every ref. Used by rollout to apply one wave at a time.
    regions: tuple[str | None, ...] | None = None


def public_value_check(key: str, value: str) -> str | None:
    """The policies' check (secrets, unsafe characters), run again on every public value
    on its way out."""
    return public_value_problem(key, value)


class Session:
    """The vendor clients and reconcilers of one project run."""

    def __init__(
        self,
        desired: DesiredState,
        env: Mapping[str, str],
        *,
        workspace: Workspace,
        options: ReconcileOptions,
        counter: RequestCounter,
        transports: Mapping[str, httpx.BaseTransport] | None = None,
        infisical_config: Path | None = None,
    ):
        self.desired = desired
        self.env = env
        self.options = options
        self.counter = counter
        self.transports = dict(transports or {})
        self.infisical_config = infisical_config
        self.key = fingerprint_key(workspace.state_dir, env)
        self.systems = tuple(
            s
            for s in SYSTEMS
            if s in desired.systems and (options.systems is None or s in options.systems)
        )
        self._closers: list[Callable[[], None]] = []
        self._infisical: InfisicalClient | None = None
        self._vercel: VercelClient | None = None
        self._resolver: InfisicalResolver | None = None

    # -- clients, built on first use --------------------------------------------------

    def infisical(self) -> InfisicalClient:
        if self._infisical is None:
            self._infisical = InfisicalClient.from_environment(
                self.env,
                counter=self.counter,
                transport=self.transports.get("infisical"),
                config_path=self.infisical_config,
            )
            self._closers.append(self._infisical.close)
        return self._infisical

    def vercel(self) -> VercelClient:
        if self._vercel is None:
            self._vercel = VercelClient.from_environment(
                self.env, counter=self.counter, transport=self.transports.get("vercel")
            )
            self._closers.append(self._vercel.close)
        return self._vercel

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
        return self._resolver

    def reconciler(self, system: str) -> SystemReconciler:
        desired = self.desired
        if system == "infisical":
            return InfisicalReconciler(
                desired,
                self.infisical(),
                adopt=self.options.adopt,
                target=_infisical_target(desired),
            )
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
        client = SupabaseClient.from_environment(
            self.env, counter=self.counter, transport=self.transports.get("supabase")
        )
        self._closers.append(client.close)
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
        for close in reversed(self._closers):
            close()
        self._closers.clear()


def _infisical_target(desired: DesiredState) -> InfisicalTarget | None:
    """Where the project's Infisical objects live, even when none is desired any more
    (so the managed ones left can still be found and deleted)."""
    targets = [r.target for r in desired.roles] + [i.target for i in desired.identities]
    if targets:
        return targets[0]
    scope = (desired.vercel and desired.vercel.references) or (
        desired.supabase and desired.supabase.references
    )
    if scope and scope.environments:
        return InfisicalTarget(
            scope.organization, scope.project, next(iter(scope.environments.values()))
        )
    return None


@contextmanager
def open_session(desired: DesiredState, env: Mapping[str, str], **kwargs: Any) -> Iterator[Session]:
    session = Session(desired, env, **kwargs)
    try:
        yield session
    finally:
        session.close()
