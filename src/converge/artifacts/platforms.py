"""The platform artifacts: ``vercel-env.json`` and ``supabase-config.json`` (architecture §3).

Both carry ``references``: where ``secret/<env>/…`` and ``identity/…`` references resolve
(the Infisical project and each converge environment's slug), so an old revision re-applied
by rollback resolves exactly as it did when it was rendered. Server values stay references:
no model here has a field that could hold a secret.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from converge.artifacts.wire import ApiVersion, Wire, absent_when_false, absent_when_none

NonNegative = Annotated[int, Field(ge=0)]
# project.yaml's ``adopt:`` names this key: the next apply takes over an unmanaged record
# of exactly this key and these targets (instead of reporting a conflict).
Adopt = Annotated[bool, Field(exclude_if=absent_when_false)]


class ReferenceScope(Wire):
    organization: str
    project: str
    environments: dict[str, str]  # converge environment -> Infisical environment slug


class VercelProject(Wire):
    team: str | None
    project: str


class PublicVariable(Wire):
    """A literal shown to browsers (``NEXT_PUBLIC_…``)."""

    key: str
    kind: Literal["public"]
    type: Literal["plain"]
    value: str
    environments: list[str]
    targets: list[str]  # Vercel targets: production, preview, development
    comment: Annotated[str | None, Field(exclude_if=absent_when_none)] = None
    adopt: Adopt = False


class ServerVariable(Wire):
    """A server-only variable: a reference resolved at apply time, never its value."""

    key: str
    kind: Literal["server"]
    type: Literal["sensitive"]
    # None only for a literal value whose vercel.server-reference failure was waived: the
    # literal is never written, so there is nothing to resolve.
    ref: str | None
    rotate: NonNegative = 0
    environments: list[str]
    targets: list[str]
    adopt: Adopt = False


Variable = Annotated[PublicVariable | ServerVariable, Field(discriminator="kind")]


class VercelEnvironment(Wire):
    api_version: ApiVersion = Field(alias="apiVersion")
    kind: Literal["VercelEnvironment"]
    project: str
    vercel: VercelProject
    # Artifacts rendered before references were recorded read None.
    references: ReferenceScope | None = None
    variables: list[Variable]


class SupabaseProjectRef(Wire):
    """One Supabase project: per environment, or per environment and region."""

    environment: str
    region: str | None
    ref: str


class SecretReference(Wire):
    ref: str
    rotate: NonNegative


class AuthProvider(Wire):
    enabled: bool
    client_id: str | None
    secret: SecretReference | None


class Mfa(Wire):
    totp: bool
    phone: bool


class SupabaseAuth(Wire):
    """converge's auth block; the Supabase package maps it to the Management API's fields.
    A null means "not managed": the live value is left as it is."""

    jwt_exp: Annotated[int, Field(ge=1)]
    site_url: str | None
    uri_allow_list: list[str]
    disable_signup: bool
    mailer_autoconfirm: bool
    password_min_length: int | None
    mfa: Mfa | None
    providers: dict[str, AuthProvider]


class Rls(Wire):
    enforce: bool
    schemas: list[str]


class SupabaseDatabase(Wire):
    rls: Rls


class SupabaseApi(Wire):
    schemas: list[str]


class PublishEntry(Wire):
    """A project value (its URL, a key) published to Vercel under ``key``."""

    key: str
    source: Literal["url", "anon_key", "service_role_key", "jwt_secret"] = Field(alias="from")
    environments: list[str]
    targets: list[str]


class SupabaseConfig(Wire):
    api_version: ApiVersion = Field(alias="apiVersion")
    kind: Literal["SupabaseConfig"]
    project: str
    projects: list[SupabaseProjectRef]
    auth: SupabaseAuth
    database: SupabaseDatabase
    api: SupabaseApi
    publish: list[PublishEntry]
    # The Vercel project ``publish`` writes to; absent from artifacts rendered before it was.
    publish_to: VercelProject | None = None
    references: ReferenceScope | None = None
