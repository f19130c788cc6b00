"""Input models: ``converge.yaml`` and the five per-project input files.

Field names and nesting follow ``shared/example-workspace``; every model forbids unknown
keys so a typo is an error at its line, not a silently ignored setting. Security rules
(prefixes, secrets, TTL bounds) are *policies*, not schema: the schema accepts a public
variable without ``NEXT_PUBLIC_`` so the policy can name the rule that refuses it.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
ENV_PATTERN = r"^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$"
SUPABASE_REF_PATTERN = r"^[a-z]{20}$"
VERCEL_KEY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"

Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=63)]
EnvName = Annotated[str, Field(pattern=ENV_PATTERN, max_length=63)]
VercelTarget = Literal["production", "preview", "development"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _one_or_many(value: Any) -> Any:
    """A Vercel key holds one entry or a list of entries; normalise to a list."""
    return [value] if isinstance(value, dict) else value


# --- converge.yaml -------------------------------------------------------------------


class WorkspaceSettings(Strict):
    target: Literal["live", "sandbox"] = "live"
    state: str = ".converge/state.db"
    out: str = ".out"
    policies: str = "policies"
    audit_log: str = "reconciliation.log"


# --- projects/<p>/project.yaml -------------------------------------------------------


class InfisicalTarget(Strict):
    organization: str
    project: str


class VercelProjectTarget(Strict):
    team: str | None = None
    project: str


class SupabaseTarget(Strict):
    organization: str


class Targets(Strict):
    infisical: InfisicalTarget | None = None
    vercel: VercelProjectTarget | None = None
    supabase: SupabaseTarget | None = None


class EnvironmentTargets(Strict):
    """Where one converge environment lives in each vendor."""

    infisical: EnvName | None = None
    vercel: list[VercelTarget] | None = None
    supabase: Annotated[str, Field(pattern=SUPABASE_REF_PATTERN)] | None = None


class Region(Strict):
    environments: dict[EnvName, EnvironmentTargets]


class Probe(Strict):
    url: str
    expect_status: int = 200


class Gate(Strict):
    health: bool = True
    drift: bool = True
    soak_seconds: Annotated[int, Field(ge=0, le=86400)] = 0
    probe: Probe | None = None


class Rollout(Strict):
    waves: list[list[Name]] = Field(min_length=1)
    gate: Gate = Gate()
    on_failure: Literal["rollback", "halt"] = "rollback"


class Project(Strict):
    name: Name
    description: str | None = None
    owners: list[str] = []
    targets: Targets
    environments: dict[EnvName, EnvironmentTargets] = Field(min_length=1)
    regions: dict[Name, Region] | None = None
    rollout: Rollout | None = None


# --- projects/<p>/identities.yaml ----------------------------------------------------


class UniversalAuth(Strict):
    access_token_ttl: Annotated[int, Field(ge=0)] = 2592000
    access_token_max_ttl: Annotated[int, Field(ge=0)] = 2592000
    access_token_num_uses_limit: Annotated[int, Field(ge=0)] = 0
    client_secret_trusted_ips: list[str] = ["0.0.0.0/0"]
    access_token_trusted_ips: list[str] = ["0.0.0.0/0"]


class IdentityAuth(Strict):
    universal: UniversalAuth


class Identity(Strict):
    name: Name
    scope: Name | None = None
    environment: EnvName
    description: str | None = None
    roles: list[Name] = []
    auth: IdentityAuth

    def full_name(self, project: str) -> str:
        """``token-service@journal-prod``; ``ci`` with scope ``github`` is ``ci@github-prod``."""
        return f"{self.name}@{self.scope or project}-{self.environment}"

    def binding_name(self, role: str) -> str:
        return f"{self.name}-{role}-binding"


class IdentitiesFile(Strict):
    identities: list[Identity] = []


# --- data/infisical/<p>/roles.yaml ---------------------------------------------------


class PermissionConditions(Strict):
    secret_path: str | None = None

    @model_validator(mode="after")
    def _absolute(self) -> PermissionConditions:
        # Infisical refuses a secretPath condition that does not start with "/" (422).
        if self.secret_path is not None and not self.secret_path.startswith("/"):
            raise ValueError("secret_path must start with '/', as Infisical requires")
        return self


# What Infisical's role schema takes per subject, where converge's vocabulary says more:
# only these actions (``describe`` is ``read`` outside secrets), and ``inverted`` or
# ``conditions`` only on the subjects that take them (the service silently drops them
# elsewhere, which would turn a deny into a grant or widen a grant).
ONLY_ACTIONS = {"project": ("edit", "delete"), "kms": ("edit",),
                "audit-logs": ("describe", "read")}
INVERTIBLE_SUBJECTS = frozenset({"secrets", "secret-folders", "secret-imports",
                                 "dynamic-secrets", "identity", "secret-rotation"})
CONDITION_SUBJECTS = frozenset({"secrets", "secret-folders", "secret-imports",
                                "dynamic-secrets"})


class Permission(Strict):
    subject: Literal[
        "secrets",
        "secret-folders",
        "secret-imports",
        "dynamic-secrets",
        "identity",
        "role",
        "member",
        "environments",
        "project",
        "settings",
        "integrations",
        "webhooks",
        "service-tokens",
        "audit-logs",
        "kms",
        "secret-rotation",
        "tags",
    ]
    actions: list[Literal["read", "describe", "create", "edit", "delete"]] = Field(min_length=1)
    conditions: PermissionConditions | None = None
    inverted: bool = False

    @model_validator(mode="after")
    def _infisical_accepts(self) -> Permission:
        allowed = ONLY_ACTIONS.get(self.subject)
        refused = sorted(set(self.actions) - set(allowed or self.actions))
        if allowed is not None and refused:
            raise ValueError(f"Infisical takes only {', '.join(allowed)} on {self.subject}, "
                             f"not {', '.join(refused)}")
        if self.inverted and self.subject not in INVERTIBLE_SUBJECTS:
            raise ValueError(f"Infisical does not take inverted rules on {self.subject}")
        conditioned = self.conditions is not None and self.conditions.secret_path is not None
        if conditioned and self.subject not in CONDITION_SUBJECTS:
            raise ValueError(f"Infisical takes no secret_path condition on {self.subject}")
        return self


class Role(Strict):
    name: Name
    environment: EnvName
    description: str | None = None
    permissions: list[Permission] = Field(min_length=1)

    def display(self) -> str:
        """``runtime (prod)``, as the brief prints it."""
        return f"{self.name} ({self.environment})"

    def slug(self) -> str:
        """Infisical roles are per project, not per environment: the slug carries both."""
        return f"{self.name}-{self.environment}"


class RolesFile(Strict):
    roles: list[Role] = []


# --- data/platforms/vercel/<p>.yaml --------------------------------------------------


class PublicEntry(Strict):
    value: str
    environments: list[EnvName] = Field(min_length=1)
    comment: str | None = None


class ServerEntry(Strict):
    """A server variable: a reference resolved at apply time (a literal is refused by policy)."""

    ref: str | None = None
    value: str | None = None
    environments: list[EnvName] = Field(min_length=1)
    rotate: Annotated[int, Field(ge=0)] = 0

    @model_validator(mode="after")
    def _exactly_one_source(self) -> ServerEntry:
        if (self.ref is None) == (self.value is None):
            raise ValueError("give exactly one of 'ref' or 'value'")
        return self


PublicEntries = Annotated[
    list[PublicEntry],
    BeforeValidator(_one_or_many, json_schema_input_type=PublicEntry | list[PublicEntry]),
    Field(min_length=1),
]
ServerEntries = Annotated[
    list[ServerEntry],
    BeforeValidator(_one_or_many, json_schema_input_type=ServerEntry | list[ServerEntry]),
    Field(min_length=1),
]


class VercelFile(Strict):
    public: dict[Annotated[str, Field(pattern=VERCEL_KEY_PATTERN)], PublicEntries] = {}
    server: dict[Annotated[str, Field(pattern=VERCEL_KEY_PATTERN)], ServerEntries] = {}


# --- data/platforms/supabase/<p>.yaml ------------------------------------------------


class Reference(Strict):
    ref: str
    rotate: Annotated[int, Field(ge=0)] = 0


class AuthProvider(Strict):
    enabled: bool = False
    client_id: str | None = None
    secret: Reference | str | None = None


class Mfa(Strict):
    totp: bool = False
    phone: bool = False


class SupabaseAuth(Strict):
    jwt_exp: Annotated[int, Field(ge=1)] = 3600
    site_url: str | None = None
    uri_allow_list: list[str] = []
    disable_signup: bool = False
    mailer_autoconfirm: bool = False
    password_min_length: Annotated[int, Field(ge=6, le=72)] | None = None
    mfa: Mfa | None = None
    providers: dict[Name, AuthProvider] = {}


class Rls(Strict):
    enforce: bool = True
    schemas: list[str] = ["public"]


class SupabaseDatabase(Strict):
    rls: Rls = Rls()


class SupabaseApi(Strict):
    """Schemas PostgREST exposes; every one of them needs RLS."""

    schemas: list[str] = ["public"]


class PublishEntry(Strict):
    source: Literal["url", "anon_key", "service_role_key", "jwt_secret"] = Field(alias="from")
    environments: list[EnvName] = Field(min_length=1)


class Publish(Strict):
    vercel: dict[Annotated[str, Field(pattern=VERCEL_KEY_PATTERN)], PublishEntry] = {}


class SupabaseFile(Strict):
    auth: SupabaseAuth = SupabaseAuth()
    database: SupabaseDatabase = SupabaseDatabase()
    api: SupabaseApi = SupabaseApi()
    publish: Publish = Publish()


# --- projects/<p>/waivers.yaml -------------------------------------------------------


class Waiver(Strict):
    rule: str
    resource: str
    reason: Annotated[str, Field(min_length=3)]
    expires: dt.date


class WaiversFile(Strict):
    waivers: list[Waiver] = []
