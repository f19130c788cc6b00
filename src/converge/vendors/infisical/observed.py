"""What observe found in Infisical, as frozen data that ``diff`` reads (no I/O here).

Fields that need a per-object read (role permissions, identity metadata, universal-auth
settings) are ``None`` when observe skipped that read because the object's change marker
matched the one the journal recorded (``markers``): diff then takes the object as in sync.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

OWNER_METADATA_KEY = "converge.managed-by"


@dataclass(frozen=True)
class ObservedRole:
    id: str
    slug: str
    name: str
    description: str
    updated_at: str
    permissions: tuple[dict[str, Any], ...] | None = None  # None: not read


@dataclass(frozen=True)
class ObservedIdentity:
    id: str
    name: str
    updated_at: str
    metadata: tuple[tuple[str, str], ...] | None = None  # None: not read
    universal_auth: Mapping[str, Any] | None = None  # normalised; None: absent or not read
    ua_read: bool = False  # whether universal_auth reflects a read

    def owner(self) -> str | None:
        for key, value in self.metadata or ():
            if key == OWNER_METADATA_KEY:
                return value
        return None


@dataclass(frozen=True)
class ObservedMembership:
    identity_id: str
    identity_name: str
    role_slugs: tuple[str, ...]
    updated_at: str


@dataclass(frozen=True)
class ObservedState:
    project_id: str
    org_id: str
    roles: tuple[ObservedRole, ...] = ()
    identities: tuple[ObservedIdentity, ...] = ()
    memberships: tuple[ObservedMembership, ...] = ()
    markers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
