"""Input models: ``converge.yaml`` and the five per-project input files.

Field names and nesting follow ``shared/example-workspace``; every model forbids unknown
keys so a typo is an error at its line, not a silently ignored setting, and every model is
strict: a value is taken as the type it is written in, never coerced (``jwt_exp: true`` is
not a one-second expiry, ``"3600"`` is not a number, ``enforce: "false"`` is not false).
Dates are the one text form: ``YYYY-MM-DD``, nothing else. Security rules
(prefixes, secrets, TTL bounds) are *policies*, not schema: the schema accepts a public
variable without ``NEXT_PUBLIC_`` so the policy can name the rule that refuses it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
ENV_PATTERN = r"^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$"
SUPABASE_REF_PATTERN = r"^[a-z]{20}$"
VERCEL_KEY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"

Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=63)]
EnvName = Annotated[str, Field(pattern=ENV_PATTERN, max_length=63)]
VercelTarget = Literal["production", "preview", "development"]

# Values that reach a vendor's URL path or a comma-joined API field: each is checked here,
# against the vendor's own naming rule, so a name like 'a/../../v2/teams' (a different
# request) or 'public,auth' (two schemas for PostgREST) is refused at its line. The vendor
# clients also percent-encode every path segment and refuse a list entry with a comma.
PG_IDENTIFIER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$"
VERCEL_PROJECT_PATTERN = r"^(prj_[A-Za-z0-9]{1,64}|(?!.*---)[a-z0-9][a-z0-9._-]{0,99})$"
VERCEL_TEAM_PATTERN = r"^(team_[A-Za-z0-9]{1,64}|[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)$"
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
COMMA_FREE_PATTERN = r"^[^,\s]+$"


def _matching(pattern: str, rule: str, *, max_length: int = 0) -> Callable[[str], str]:
    """A validator that refuses a value not fully matching ``pattern`` with ``rule``, a
    sentence saying what a valid value looks like (never echoing the value)."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if (max_length and len(value) > max_length) or not compiled.fullmatch(value):
            raise ValueError(rule)
        return value

    return check


SchemaName = Annotated[
    str,
    AfterValidator(_matching(
        PG_IDENTIFIER_PATTERN,
        "a schema name must be a plain PostgreSQL identifier: a letter or '_', then "
        "letters, digits, '_' or '$', at most 63 characters (no comma, space or quote)",
    )),
    Field(json_schema_extra={"pattern": PG_IDENTIFIER_PATTERN}),
]
VercelProjectName = Annotated[
    str,
    AfterValidator(_matching(
        VERCEL_PROJECT_PATTERN,
        "a Vercel project is a name of lower-case letters, digits, '.', '_' and '-' (at most "
        "100 characters, no '---', starting with a letter or digit) or an id prj_…",
    )),
    Field(json_schema_extra={"pattern": VERCEL_PROJECT_PATTERN}),
]
VercelTeam = Annotated[
    str,
    AfterValidator(_matching(
        VERCEL_TEAM_PATTERN,
        "a Vercel team is a slug of lower-case letters, digits and '-' (at most 64 "
        "characters) or an id team_…",
    )),
    Field(json_schema_extra={"pattern": VERCEL_TEAM_PATTERN}),
]
Slug = Annotated[
    str,
    AfterValidator(_matching(
        SLUG_PATTERN,
        "a slug is lower-case letters and digits in words joined by '-' (at most 64 "
        "characters)",
        max_length=64,
    )),
    Field(json_schema_extra={"pattern": SLUG_PATTERN, "maxLength": 64}),
]
CommaFree = Annotated[
    str,
    AfterValidator(_matching(
        COMMA_FREE_PATTERN,
        "an entry of this list may not hold a comma or a space: Supabase stores the list "
        "comma-separated, so one entry would become several",
    )),
    Field(json_schema_extra={"pattern": COMMA_FREE_PATTERN}),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, strict=True)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: Any) -> Any:
    """``2027-06-30`` (YAML gives text) → a date; numbers, booleans, datetimes are refused
    (pydantic's lax dates would read ``1782777600`` as a Unix time)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError("expected a calendar date written YYYY-MM-DD")


IsoDate = Annotated[
    dt.date,
    BeforeValidator(_iso_date),
    WithJsonSchema({"type": "string", "format": "date"}),
]


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
    # Seconds each user-policy query may run before decide stops it (a rule can loop).
    policy_timeout_seconds: Annotated[int, Field(ge=1, le=3600)] = 10


# --- projects/<p>/project.yaml -------------------------------------------------------


class InfisicalTarget(Strict):
    organization: Slug
    project: Slug


class VercelProjectTarget(Strict):
    team: VercelTeam | None = None
    project: VercelProjectName


class SupabaseTarget(Strict):
    organization: Slug


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
    uri_allow_list: list[CommaFree] = []
    disable_signup: bool = False
    mailer_autoconfirm: bool = False
    password_min_length: Annotated[int, Field(ge=6, le=72)] | None = None
    mfa: Mfa | None = None
    providers: dict[Name, AuthProvider] = {}


class Rls(Strict):
    enforce: bool = True
    schemas: list[SchemaName] = ["public"]


class SupabaseDatabase(Strict):
    rls: Rls = Rls()


class SupabaseApi(Strict):
    """Schemas PostgREST exposes; every one of them needs RLS."""

    schemas: list[SchemaName] = ["public"]


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
    expires: IsoDate


class WaiversFile(Strict):
    waivers: list[Waiver] = []
