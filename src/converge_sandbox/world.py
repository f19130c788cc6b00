"""What the three emulators share: the store, the credentials they accept, the database.

A ``SandboxWorld`` is built once per sandbox (in-process for tests, or by
``converge sandbox serve``) and handed to each vendor's ``create_app(world)``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
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
    """The long-lived credentials the emulators accept; printed by ``converge sandbox env``.

    Infisical gets what a real team's automation holds: a machine identity's
    universal-auth client id and secret. Its access token is not stored here: the
    Infisical emulator issues one at print time (``converge_sandbox.infisical.seed``)."""

    infisical_client_id: str
    infisical_client_secret: str
    vercel_token: str
    supabase_access_token: str

    @classmethod
    def generate(cls) -> SandboxCredentials:
        return cls(
            infisical_client_id=_uuid(),
            infisical_client_secret=secrets.token_hex(32),
            vercel_token=secrets.token_urlsafe(18).replace("-", "a").replace("_", "b"),
            # The Supabase CLI checks the shape: sbp_ followed by 40 hex characters.
            supabase_access_token="sbp_" + secrets.token_hex(20),
        )

    @classmethod
    def load_or_create(cls, store: SandboxStore) -> SandboxCredentials:
        """The stored credentials; fields a sandbox made by an older version lacks are
        generated and stored, fields it no longer uses are dropped."""
        doc = store.get("sandbox", "credentials", "default") or {}
        names = [f.name for f in fields(cls)]
        if doc and all(name in doc for name in names) and set(doc) == set(names):
            return cls(**doc)
        fresh = asdict(cls.generate())
        creds = cls(**{name: doc.get(name, fresh[name]) for name in names})
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
