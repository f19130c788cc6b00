"""The vendor clients of one project run: one pooled client per vendor, built on first use.

``RunContext.vendor_clients`` makes a set for each ``Session``; ``close`` closes every
client built. All requests are counted in the run's ``RequestCounter``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from converge.vendors.http import RequestCounter, Transport
from converge.vendors.infisical.client import InfisicalClient
from converge.vendors.supabase.client import SupabaseClient
from converge.vendors.vercel.client import VercelClient


class VendorClients:
    """Infisical, Vercel and Supabase clients for ``env``; each built once, when asked."""

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        counter: RequestCounter,
        transports: Mapping[str, Transport],
        infisical_config: Path | None = None,
    ):
        self.env = env
        self.counter = counter
        self.transports = transports
        self.infisical_config = infisical_config
        self._infisical: InfisicalClient | None = None
        self._vercel: VercelClient | None = None
        self._supabase: SupabaseClient | None = None
        self._closers: list[Callable[[], None]] = []

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

    def supabase(self) -> SupabaseClient:
        if self._supabase is None:
            self._supabase = SupabaseClient.from_environment(
                self.env, counter=self.counter, transport=self.transports.get("supabase")
            )
            self._closers.append(self._supabase.close)
        return self._supabase

    def close(self) -> None:
        """Close every client built, newest first (idempotent)."""
        for close in reversed(self._closers):
            close()
        self._closers.clear()
