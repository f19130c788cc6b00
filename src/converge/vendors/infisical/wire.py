"""Infisical's JSON payloads as pydantic models: what the API sends back, nothing more.

Kept apart from converge's domain records (``converge.desired``): these follow the
vendor's field names and nesting (an org identity read is the *membership* row with the
identity nested inside, a custom role in a project membership is ``role: "custom"`` with
the slug in ``customRoleSlug``). Unknown fields are ignored so a newer API version does not
break parsing; fields we diff on are required.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Environment(Wire):
    id: str
    name: str
    slug: str


class Project(Wire):
    id: str
    slug: str
    name: str = ""
    orgId: str
    environments: list[Environment] = Field(default_factory=list)


class Role(Wire):
    """A project role; ``permissions`` is absent from list answers."""

    id: str
    slug: str
    name: str = ""
    description: str | None = None
    updatedAt: str = ""
    permissions: list[dict[str, Any]] | None = None


class MetadataEntry(Wire):
    key: str
    value: str


class IdentityInner(Wire):
    id: str
    name: str
    authMethods: list[str] = Field(default_factory=list)


class OrgIdentity(Wire):
    """The org-membership row that identity reads and lists return; ``metadata`` on reads only."""

    id: str
    identityId: str
    updatedAt: str = ""
    identity: IdentityInner
    metadata: list[MetadataEntry] | None = None


class IdentityRow(Wire):
    """The identity row that create and update return."""

    id: str
    name: str
    updatedAt: str = ""
    metadata: list[MetadataEntry] = Field(default_factory=list)


class TrustedIp(Wire):
    ipAddress: str
    prefix: int | None = None
    type: str = ""


class UniversalAuth(Wire):
    id: str
    clientId: str
    identityId: str = ""
    accessTokenTTL: int
    accessTokenMaxTTL: int
    accessTokenNumUsesLimit: int = 0
    clientSecretTrustedIps: list[TrustedIp] = Field(default_factory=list)
    accessTokenTrustedIps: list[TrustedIp] = Field(default_factory=list)
    updatedAt: str = ""


class ClientSecret(Wire):
    """A client secret's record; the value itself is only in the create answer."""

    id: str
    description: str = ""
    clientSecretPrefix: str = ""
    isClientSecretRevoked: bool = False
    createdAt: str = ""


class MembershipRole(Wire):
    role: str
    customRoleId: str | None = None
    customRoleSlug: str | None = None
    isTemporary: bool = False


class Membership(Wire):
    id: str
    identityId: str
    updatedAt: str = ""
    roles: list[MembershipRole] = Field(default_factory=list)
    identity: IdentityInner | None = None

    def role_slugs(self) -> list[str]:
        """Each role as the slug a client would assign (custom roles by their own slug)."""
        return [r.customRoleSlug or r.role if r.role == "custom" else r.role for r in self.roles]


class Secret(Wire):
    secretKey: str
    secretValue: str
    secretPath: str = "/"
    environment: str = ""


class SecretName(Wire):
    """Where a secret lives and what it is called: a list entry read without its value
    (``viewSecretValue=false``); the masked value the API still sends is not a field."""

    secretKey: str
    secretPath: str = "/"
