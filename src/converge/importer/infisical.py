"""Infisical → ``roles.yaml`` and ``identities.yaml``: read (I/O), then translate (pure).

Read: the project by slug, its roles (each custom role read once for its permissions),
its identity memberships, and each member identity's metadata and universal-auth
settings. Only reads: the same client calls ``plan`` makes.

Translate: every custom role and member identity into the workspace's vocabulary and
naming rules, keeping only what round-trips exactly: a role's permissions are turned
back into ``roles.yaml`` rules and re-rendered with the very functions apply uses
(``permission_to_wire`` + ``normalise_rules``); the result must equal what Infisical
holds, or the role is reported. Objects converge manages for this project (ownership
marker ``<org>/<project>``) are always written, as close as the workspace can say them,
because leaving one out would make the next plan delete it; unmanaged ones are written
only when exact, and listed for adoption; another project's objects are left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, get_args

from converge.config.models import Permission, UniversalAuth
from converge.importer.findings import Findings
from converge.importer.names import (
    display_environment,
    split_identity_name,
    split_role,
    split_role_description,
)
from converge.vendors.infisical import wire
from converge.vendors.infisical.client import InfisicalClient
from converge.vendors.infisical.normalise import (
    BUILT_IN_ROLES,
    SECRET_SUBJECTS,
    normalise_rules,
    normalise_universal_auth,
    permission_to_wire,
)
from converge.vendors.infisical.observe import run_concurrently
from converge.vendors.infisical.observed import OWNER_METADATA_KEY

SYSTEM = "infisical"
UNIVERSAL_AUTH = "universal-auth"
SUBJECTS: frozenset[str] = frozenset(get_args(Permission.model_fields["subject"].annotation))
ACTION_ORDER = ("read", "describe", "create", "edit", "delete")
_SECRET_ACTIONS = {"readValue": ("read",), "describeSecret": ("describe",),
                   "read": ("read", "describe"), "create": ("create",), "edit": ("edit",),
                   "delete": ("delete",)}
_OTHER_ACTIONS = {"read": ("read",), "create": ("create",), "edit": ("edit",),
                  "delete": ("delete",)}
_UA_DEFAULTS = UniversalAuth()


# -- read (I/O) ---------------------------------------------------------------------------

@dataclass(frozen=True)
class MemberIdentity:
    """One identity with a membership in the project, as read."""

    id: str
    name: str
    auth_methods: tuple[str, ...]
    metadata: tuple[tuple[str, str], ...]
    universal_auth: wire.UniversalAuth | None
    roles: tuple[wire.MembershipRole, ...]

    def owner(self) -> str | None:
        return next((v for k, v in self.metadata if k == OWNER_METADATA_KEY), None)


@dataclass(frozen=True)
class InfisicalSnapshot:
    project: wire.Project
    roles: tuple[wire.Role, ...]  # custom roles, each with its permissions
    identities: tuple[MemberIdentity, ...]

    def owners(self) -> set[str]:
        """Every ownership marker found (``<org>/<converge project>``)."""
        found = {split_role_description(r.description)[1] for r in self.roles}
        found |= {i.owner() for i in self.identities}
        return {o for o in found if o}

    def environment_slugs(self) -> tuple[str, ...]:
        return tuple(e.slug for e in self.project.environments)

    def slug_hints(self) -> dict[str, set[str]]:
        """converge environment → the Infisical slugs its roles' rules name (a role shown
        as ``reader (preview)`` whose rules say ``environment: staging``)."""
        hints: dict[str, set[str]] = {}
        for role in self.roles:
            env = display_environment(role.name)
            if env is None:
                continue
            for rule in role.permissions or []:
                slug = _equals((rule.get("conditions") or {}).get("environment"))
                if slug:
                    hints.setdefault(env, set()).add(slug)
        return hints


def read_infisical(client: InfisicalClient, slug: str) -> InfisicalSnapshot:
    """The project, its custom roles with permissions, and its member identities with
    metadata and universal-auth settings: list calls, then one read per object."""
    project = client.get_project(slug)
    rows = client.list_roles(project.id)
    memberships = client.list_memberships(project.id)
    org_rows = {r.identity.id: r for r in client.list_identities(project.orgId)}
    custom = [r.slug for r in rows if r.slug not in BUILT_IN_ROLES]
    role_reads = run_concurrently([partial(client.get_role, project.id, s) for s in custom])
    detail_reads = run_concurrently([partial(client.get_identity, m.identityId)
                                     for m in memberships])
    methods = {
        m.identityId: tuple(org_rows[m.identityId].identity.authMethods
                            if m.identityId in org_rows else
                            (m.identity.authMethods if m.identity else ()))
        for m in memberships
    }
    with_ua = [m.identityId for m in memberships if UNIVERSAL_AUTH in methods[m.identityId]]
    ua_reads = run_concurrently([partial(client.get_universal_auth, i) for i in with_ua])
    ua_by_id = dict(zip(with_ua, ua_reads, strict=True))
    identities: list[MemberIdentity] = []
    for membership, detail in zip(memberships, detail_reads, strict=True):
        if detail is None:
            continue  # deleted between the list and the read
        identities.append(MemberIdentity(
            id=membership.identityId, name=detail.identity.name,
            auth_methods=methods[membership.identityId],
            metadata=tuple((m.key, m.value) for m in detail.metadata or []),
            universal_auth=ua_by_id.get(membership.identityId),
            roles=tuple(membership.roles),
        ))
    return InfisicalSnapshot(
        project=project,
        roles=tuple(r for r in role_reads if r is not None),
        identities=tuple(sorted(identities, key=lambda i: i.name)),
    )


# -- translate (pure) ---------------------------------------------------------------------

@dataclass
class InfisicalImport:
    """What goes into roles.yaml and identities.yaml, and what project.yaml adopts."""

    roles: list[dict[str, Any]] = field(default_factory=list)
    identities: list[dict[str, Any]] = field(default_factory=list)
    adopt: list[str] = field(default_factory=list)
    role_slugs: set[str] = field(default_factory=set)  # slugs written to roles.yaml
    # The full names of the identities written: what ``identity/…`` references may name.
    identity_names: list[str] = field(default_factory=list)


def _equals(condition: Any) -> str | None:
    """The value of ``{"$eq": v}`` or a plain string condition; None otherwise."""
    if isinstance(condition, str):
        return condition
    if isinstance(condition, Mapping) and set(condition) == {"$eq"}:
        value = condition["$eq"]
        return value if isinstance(value, str) else None
    return None


def _secret_path(condition: Any) -> str | None:
    if isinstance(condition, Mapping) and set(condition) == {"$glob"}:
        value = condition["$glob"]
        return value if isinstance(value, str) else None
    return _equals(condition)


def convert_rule(rule: Mapping[str, Any], slug: str) -> tuple[dict[str, Any] | None, str]:
    """One Infisical permission rule as a ``roles.yaml`` permission of a role whose
    environment has Infisical slug ``slug``; (None, why) when the workspace cannot say it."""
    subject = str(rule.get("subject", ""))
    if subject not in SUBJECTS:
        return None, f"subject {subject!r} is not one converge manages"
    raw = rule.get("action") or []
    wire_actions = [raw] if isinstance(raw, str) else [str(a) for a in raw]
    table = _SECRET_ACTIONS if subject == "secrets" else _OTHER_ACTIONS
    unknown = [a for a in wire_actions if a not in table]
    if unknown or not wire_actions:
        return None, (f"action {unknown[0]!r} on {subject}" if unknown
                      else f"a rule on {subject} without actions")
    actions = {a for w in wire_actions for a in table[w]}
    out: dict[str, Any] = {"subject": subject,
                           "actions": [a for a in ACTION_ORDER if a in actions]}
    conditions = dict(rule.get("conditions") or {})
    if subject in SECRET_SUBJECTS:
        env = _equals(conditions.pop("environment", None))
        if env != slug:
            return None, (f"a rule on {subject} for environment {env!r}, not {slug!r}"
                          if env else f"a rule on {subject} without an environment condition")
        if "secretPath" in conditions:
            path = _secret_path(conditions.pop("secretPath"))
            if path is None:
                return None, "a secretPath condition other than $eq or $glob"
            out["conditions"] = {"secret_path": path}
    if conditions:
        return None, f"condition {sorted(conditions)[0]!r} on {subject}"
    if rule.get("inverted"):
        out["inverted"] = True
    return out, ""


def rendered_rules(permissions: Sequence[Mapping[str, Any]], slug: str) -> list[dict[str, Any]]:
    """``roles.yaml`` permissions as apply would send them, in comparable form (the same
    steps as render + ``role_payload``)."""
    wire_rules = []
    for p in permissions:
        path = (p.get("conditions") or {}).get("secret_path")
        conditions = {"environment": slug, **({"secretPath": path} if path else {})}
        wire_rules.append(permission_to_wire({
            "subject": p["subject"], "actions": sorted(p["actions"]),
            "conditions": conditions, "inverted": bool(p.get("inverted", False))}))
    return normalise_rules(wire_rules)


def universal_auth_entry(ua: wire.UniversalAuth) -> tuple[dict[str, Any], bool]:
    """identities.yaml's ``auth.universal`` for ``ua`` (defaults left out), and whether
    it says exactly what Infisical holds."""
    live = normalise_universal_auth(ua.model_dump())
    entry: dict[str, Any] = {"access_token_ttl": live["accessTokenTTL"],
                             "access_token_max_ttl": live["accessTokenMaxTTL"]}
    if live["accessTokenNumUsesLimit"] != _UA_DEFAULTS.access_token_num_uses_limit:
        entry["access_token_num_uses_limit"] = live["accessTokenNumUsesLimit"]
    for key, field_name in (("clientSecretTrustedIps", "client_secret_trusted_ips"),
                            ("accessTokenTrustedIps", "access_token_trusted_ips")):
        if live[key] != sorted(getattr(_UA_DEFAULTS, field_name)):
            entry[field_name] = list(live[key])
    model = UniversalAuth.model_validate(entry)
    rendered = normalise_universal_auth({
        "accessTokenTTL": model.access_token_ttl,
        "accessTokenMaxTTL": model.access_token_max_ttl,
        "accessTokenNumUsesLimit": model.access_token_num_uses_limit,
        "clientSecretTrustedIps": model.client_secret_trusted_ips,
        "accessTokenTrustedIps": model.access_token_trusted_ips,
    })
    return entry, rendered == live


class _Translator:
    def __init__(self, snapshot: InfisicalSnapshot, *, project: str, owner: str,
                 slugs: Mapping[str, str | None], findings: Findings):
        self.snapshot = snapshot
        self.project = project
        self.owner = owner
        self.slugs = {env: slug for env, slug in slugs.items() if slug}
        self.findings = findings
        self.out = InfisicalImport()

    def ownership(self, found: str | None, subject: str) -> bool | None:
        """True: ours; False: unmanaged; None: another project's (reported, left out)."""
        if found is None:
            return False
        if found == self.owner:
            return True
        self.findings.skipped(SYSTEM, subject, f"managed by converge for {found}, not "
                              f"{self.owner}; left out")
        return None

    def lost(self, subject: str, ours: bool, why: str) -> None:
        """An object left out: for one converge manages, say what the next plan does."""
        then = ("; converge manages it, so the next plan would delete it" if ours
                else "; converge leaves it as it is")
        self.findings.skipped(SYSTEM, subject, why + then)

    def role(self, role: wire.Role) -> None:
        subject = f"role {role.slug}"
        description, marker = split_role_description(role.description)
        ours = self.ownership(marker, subject)
        if ours is None:
            return
        named = split_role(role.name, role.slug, environments=self.slugs)
        if named is None:
            self.lost(subject, ours, "its slug is not <name>-<env> for an imported "
                      f"environment with an Infisical slug ({', '.join(self.slugs) or 'none'})")
            return
        slug = self.slugs[named.environment]
        live = list(role.permissions or [])
        permissions: list[dict[str, Any]] = []
        problems: list[str] = []
        for rule in live:
            converted, why = convert_rule(rule, slug)
            if converted is None:
                problems.append(why)
            else:
                permissions.append(converted)
        exact = not problems and rendered_rules(permissions, slug) == normalise_rules(live)
        if not exact and not (ours and permissions):
            why = problems[0] if problems else "its permissions do not round-trip exactly"
            self.lost(subject, ours, f"its permissions cannot be written in roles.yaml ({why})")
            return
        if not exact:
            self.findings.differs(SYSTEM, subject, "some permissions cannot be written in "
                                  f"roles.yaml ({problems[0] if problems else 'reshaped'}); "
                                  "the next plan updates the role to what the file says")
        if f"{named.name} ({named.environment})" != role.name and not ours:
            self.findings.differs(SYSTEM, subject, f"its name {role.name!r} becomes "
                                  f"'{named.name} ({named.environment})' when it is adopted")
        entry: dict[str, Any] = {"name": named.name, "environment": named.environment}
        if description:
            entry["description"] = description
        entry["permissions"] = permissions
        self.out.roles.append(entry)
        self.out.role_slugs.add(role.slug)
        if not ours:
            self.out.adopt.append(f"role/{role.slug}")
            self.findings.adopt(SYSTEM, subject, "not managed by converge yet; listed under "
                                "adopt: so the next apply takes it over")

    def identity(self, identity: MemberIdentity) -> None:
        subject = f"identity {identity.name}"
        ours = self.ownership(identity.owner(), subject)
        if ours is None:
            return
        named = split_identity_name(identity.name, project=self.project,
                                    environments=self.slugs)
        if named is None:
            self.lost(subject, ours, "its name is not <name>@<scope>-<env> for an imported "
                      f"environment with an Infisical slug ({', '.join(self.slugs) or 'none'})")
            return
        if identity.universal_auth is None:
            self.lost(subject, ours, "it has no universal auth, which converge needs to "
                      "manage an identity")
            return
        universal, exact = universal_auth_entry(identity.universal_auth)
        if not exact:
            self.findings.differs(SYSTEM, subject, "its universal-auth settings cannot be "
                                  "written exactly; the next plan updates them")
        others = sorted(set(identity.auth_methods) - {UNIVERSAL_AUTH})
        if others:
            self.findings.skipped(SYSTEM, subject, f"auth method {', '.join(others)} is not "
                                  "managed by converge; it stays as it is")
        roles: list[str] = []
        for assigned in identity.roles:
            slug = assigned.customRoleSlug if assigned.role == "custom" else assigned.role
            role_name = (slug or "").removesuffix(f"-{named.environment}")
            if slug in BUILT_IN_ROLES or slug is None:
                self.findings.skipped(SYSTEM, subject, f"holds built-in role {slug}; "
                                      "converge leaves it as it is")
            elif assigned.isTemporary:
                self.findings.skipped(SYSTEM, subject, f"holds role {slug} temporarily; "
                                      "converge binds roles permanently, so it is left out")
            elif slug in self.out.role_slugs and slug == f"{role_name}-{named.environment}":
                roles.append(role_name)
            else:
                self.findings.skipped(SYSTEM, subject, f"its binding to role {slug} cannot "
                                      f"be written (not a role of environment "
                                      f"{named.environment} in roles.yaml)")
        entry: dict[str, Any] = {"name": named.name}
        if named.scope:
            entry["scope"] = named.scope
        entry["environment"] = named.environment
        entry["roles"] = roles
        entry["auth"] = {"universal": universal}
        self.out.identities.append(entry)
        self.out.identity_names.append(identity.name)
        if not ours:
            self.out.adopt.append(f"identity/{identity.name}")
            self.findings.adopt(SYSTEM, subject, "not managed by converge yet; listed under "
                                "adopt: so the next apply takes it over")


def translate_infisical(
    snapshot: InfisicalSnapshot,
    *,
    project: str,
    owner: str,
    slugs: Mapping[str, str | None],
    findings: Findings,
) -> InfisicalImport:
    """The roles and identities of ``snapshot`` as workspace entries (see module doc).
    ``owner`` is the marker converge writes for this project (``<org>/<project>``),
    ``slugs`` maps each imported environment to its Infisical slug."""
    translator = _Translator(snapshot, project=project, owner=owner, slugs=slugs,
                             findings=findings)
    for role in sorted(snapshot.roles, key=lambda r: r.slug):
        translator.role(role)
    for identity in snapshot.identities:
        translator.identity(identity)
    return translator.out
