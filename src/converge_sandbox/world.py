"""What the three emulators share: the store, the credentials they accept, the database.

A ``SandboxWorld`` is built once per sandbox (in-process for tests, or by
``converge sandbox serve``) and handed to each vendor's ``create_app(world)``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Protocol

from converge_sandbox.store import SandboxStore


class DatabaseProvider(Protocol):
    """Gives each Supabase project ref its own database on a real PostgreSQL server."""

    def database_url(self, ref: str) -> str:
        """A libpq URL for the project's database as Supabase's non-superuser ``postgres``,
        created on first use."""
        ...

    def read_only_url(self, ref: str) -> str:
        """The same database as ``supabase_read_only_user``."""
        ...

    def server_version(self) -> str:
        """The running server's version (``SHOW server_version``), e.g. ``16.14``."""
        ...

    def set_database_settings(self, ref: str, settings: Mapping[str, str]) -> list[str]:
        """Apply the project's setting overrides to its database; the names not applied
        (settings of the whole server) are returned."""
        ...


@dataclass(frozen=True)
class SandboxCredentials:
    """The credentials the emulators accept; printed by ``converge sandbox env``."""

    infisical_client_id: str
    infisical_client_secret: str
    infisical_token: str
    vercel_token: str
    supabase_access_token: str

    @classmethod
    def generate(cls) -> SandboxCredentials:
        return cls(
            infisical_client_id=_uuid(),
            infisical_client_secret=secrets.token_hex(32),
            infisical_token="st.sandbox." + secrets.token_hex(24),
            vercel_token=secrets.token_urlsafe(18).replace("-", "a").replace("_", "b"),
            # The Supabase CLI checks the shape: sbp_ followed by 40 hex characters.
            supabase_access_token="sbp_" + secrets.token_hex(20),
        )

    @classmethod
    def load_or_create(cls, store: SandboxStore) -> SandboxCredentials:
        doc = store.get("sandbox", "credentials", "default")
        if doc is not None:
            return cls(**doc)
        creds = cls.generate()
        store.put("sandbox", "credentials", "default", asdict(creds))
        return creds


def _uuid() -> str:
    import uuid

    return str(uuid.uuid4())


@dataclass
class SandboxWorld:
    """Shared state of one sandbox: every emulator reads and writes through ``store``."""

    store: SandboxStore
    credentials: SandboxCredentials
    database: DatabaseProvider | None = None
    clock: Callable[[], float] = field(default=time.time)

    @classmethod
    def in_memory(cls, database: DatabaseProvider | None = None) -> SandboxWorld:
        store = SandboxStore(None)
        return cls(
            store=store, credentials=SandboxCredentials.load_or_create(store), database=database
        )
