"""The Infisical artifacts: ``ProjectRole_<role>_<env>.yaml``, ``identity_<name>.yaml`` and
``binding_<name>.yaml`` (architecture §3), Kubernetes-like: apiVersion, kind, metadata, spec.

Wire names are Infisical's where it has one (``accessTokenTTL``, ``secretPath``), so the
Infisical package translates them with little more than a copy.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from converge.artifacts.wire import ApiVersion, Wire, absent_when_false, absent_when_none

NonNegative = Annotated[int, Field(ge=0)]
# project.yaml's ``adopt:`` names this object: the next apply takes it over if it exists
# without converge's ownership marker (instead of reporting a conflict).
Adopt = Annotated[bool, Field(exclude_if=absent_when_false)]


class Metadata(Wire):
    project: str
    name: str
    environment: str
    # Declaration order in the workspace: people (and the brief's lines) read objects in the
    # order they wrote them; vendors ignore it. Artifacts rendered before it existed read 0.
    index: NonNegative = 0


class InfisicalScope(Wire):
    """The Infisical project and environment slug an object lives in."""

    organization: str
    project: str
    environment: str


class Conditions(Wire):
    environment: str
    secret_path: Annotated[str | None, Field(exclude_if=absent_when_none)] = Field(
        default=None, alias="secretPath"
    )


class PermissionRule(Wire):
    subject: str
    actions: list[str]
    conditions: Conditions
    inverted: bool


class ProjectRoleSpec(Wire):
    slug: str
    display_name: str = Field(alias="displayName")
    description: str
    infisical: InfisicalScope
    permissions: list[PermissionRule]
    adopt: Adopt = False


class ProjectRole(Wire):
    api_version: ApiVersion = Field(alias="apiVersion")
    kind: Literal["ProjectRole"]
    metadata: Metadata
    spec: ProjectRoleSpec


class UniversalAuth(Wire):
    access_token_ttl: NonNegative = Field(alias="accessTokenTTL")
    access_token_max_ttl: NonNegative = Field(alias="accessTokenMaxTTL")
    access_token_num_uses_limit: NonNegative = Field(alias="accessTokenNumUsesLimit")
    client_secret_trusted_ips: list[str] = Field(alias="clientSecretTrustedIps")
    access_token_trusted_ips: list[str] = Field(alias="accessTokenTrustedIps")


class IdentityAuth(Wire):
    universal: UniversalAuth


class MachineIdentitySpec(Wire):
    description: str
    infisical: InfisicalScope
    roles: list[str]  # role slugs, e.g. runtime-prod
    auth: IdentityAuth
    adopt: Adopt = False


class MachineIdentity(Wire):
    api_version: ApiVersion = Field(alias="apiVersion")
    kind: Literal["MachineIdentity"]
    metadata: Metadata
    spec: MachineIdentitySpec


class IdentityBindingSpec(Wire):
    identity: str  # the identity's full name, e.g. token-service@journal-prod
    role: str
    role_slug: str = Field(alias="roleSlug")
    infisical: InfisicalScope


class IdentityBinding(Wire):
    api_version: ApiVersion = Field(alias="apiVersion")
    kind: Literal["IdentityBinding"]
    metadata: Metadata
    spec: IdentityBindingSpec


# The YAML artifacts, told apart by ``kind``.
InfisicalObject = Annotated[
    ProjectRole | MachineIdentity | IdentityBinding, Field(discriminator="kind")
]
