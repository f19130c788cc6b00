"""Built-in Infisical rules: unique names, resolvable bindings, bounded and fenced tokens.

Machine identities are long-lived credentials held by software, so the rules keep their
blast radius small: access tokens expire (``infisical.ttl``), roles they hold cannot
rewrite permissions (``infisical.admin-role``), and in production the client secret is
usable only from known networks (``infisical.trusted-ips-open``). The trusted-IP rule
reads ``client_secret_trusted_ips`` -- the long-lived secret a login is made with --
and defaults to Infisical's own default, open to every address, when it is unset.
"""

from __future__ import annotations

import ipaddress

from converge.config.models import Identity, Role
from converge.policies.context import RuleContext

MAX_TTL = 30 * 24 * 3600
MAX_SLUG_LENGTH = 64
RESERVED_SLUGS = frozenset({
    "admin", "member", "viewer", "no-access", "custom", "ssh-host-bootstrapper",
    "cryptographic-operator", "agent", "agent-proxy",
})
PRIVILEGE_SUBJECTS = frozenset({"role", "member", "identity", "project", "settings"})
WRITE_ACTIONS = frozenset({"create", "edit", "delete"})
PROD_NAMES = frozenset({"prod", "production"})


def check_infisical(ctx: RuleContext) -> None:
    check_names(ctx)
    check_bindings(ctx)
    for index, identity in enumerate(ctx.inputs.identities):
        check_ttl(ctx, index, identity)
        check_trusted_ips(ctx, index, identity)
    check_admin_roles(ctx)


def identity_resource(ctx: RuleContext, identity: Identity) -> str:
    return f"identity/{identity.full_name(ctx.inputs.name)}"


def check_names(ctx: RuleContext) -> None:
    seen: set[str] = set()
    for index, identity in enumerate(ctx.inputs.identities):
        full = identity.full_name(ctx.inputs.name)
        path = ("identities", index, "name")
        if full in seen:
            ctx.failed("infisical.names", f"identity/{full}", f"identity {full} is declared more "
                       "than once", kind="identities", path=path)
        else:
            ctx.passed("infisical.names", f"identity/{full}", f"identity name {full} is unique",
                       kind="identities", path=path)
        seen.add(full)
    slugs: set[str] = set()
    for index, role in enumerate(ctx.inputs.roles):
        slug = role.slug()
        resource = f"role/{slug}"
        path = ("roles", index, "name")
        if slug in slugs:
            ctx.failed("infisical.names", resource, f"role {role.display()} is declared more than "
                       "once", kind="roles", path=path)
        elif len(slug) > MAX_SLUG_LENGTH:
            ctx.failed("infisical.names", resource, f"role slug {slug} is longer than "
                       f"{MAX_SLUG_LENGTH} characters, Infisical's limit", kind="roles", path=path)
        elif slug in RESERVED_SLUGS:
            ctx.failed("infisical.names", resource, f"role slug {slug} is reserved by Infisical",
                       kind="roles", path=path)
        else:
            ctx.passed("infisical.names", resource, f"role {role.display()} is unique",
                       kind="roles", path=path)
        slugs.add(slug)


def check_bindings(ctx: RuleContext) -> None:
    declared = {(role.name, role.environment) for role in ctx.inputs.roles}
    for i, identity in enumerate(ctx.inputs.identities):
        full = identity.full_name(ctx.inputs.name)
        for j, name in enumerate(identity.roles):
            exists = (name, identity.environment) in declared
            display = f"{name} ({identity.environment})"
            binding = ctx.inputs.binding_name(identity, name)
            ctx.record("infisical.role-exists", f"binding/{binding}", exists,
                       f"{full} is bound to role {display}, which exists" if exists else
                       f"{full} is bound to role {display}, which roles.yaml does not declare",
                       kind="identities", path=("identities", i, "roles", j))


def check_ttl(ctx: RuleContext, index: int, identity: Identity) -> None:
    ua = identity.auth.universal
    base = ("identities", index, "auth", "universal")
    resource = identity_resource(ctx, identity)
    if ua.access_token_ttl <= 0:
        ctx.failed("infisical.ttl", resource, "access_token_ttl must be above 0 (0 means tokens "
                   "never expire)", kind="identities", path=(*base, "access_token_ttl"))
    elif ua.access_token_ttl > ua.access_token_max_ttl:
        ctx.failed("infisical.ttl", resource, f"access_token_ttl {ua.access_token_ttl} s exceeds "
                   f"access_token_max_ttl {ua.access_token_max_ttl} s", kind="identities",
                   path=(*base, "access_token_ttl"))
    elif ua.access_token_max_ttl > MAX_TTL:
        ctx.failed("infisical.ttl", resource, f"access_token_max_ttl {ua.access_token_max_ttl} s "
                   f"exceeds {MAX_TTL} s (30 days)", kind="identities",
                   path=(*base, "access_token_max_ttl"))
    else:
        ctx.passed("infisical.ttl", resource, f"token TTL {ua.access_token_ttl} s within max "
                   f"{ua.access_token_max_ttl} s", kind="identities",
                   path=(*base, "access_token_ttl"))


def is_prod(ctx: RuleContext, env: str) -> bool:
    declared = ctx.inputs.project.environments.get(env)
    slug = declared.infisical if declared else None
    return env in PROD_NAMES or slug in PROD_NAMES


def is_open(cidr: str) -> bool:
    try:
        return ipaddress.ip_network(cidr, strict=False).prefixlen == 0
    except ValueError:
        return False


def check_trusted_ips(ctx: RuleContext, index: int, identity: Identity) -> None:
    resource = identity_resource(ctx, identity)
    base = ("identities", index, "auth", "universal")
    raw = ctx.inputs.raw("identities")
    universal = raw["identities"][index]["auth"]["universal"] if raw else {}
    explicit = isinstance(universal, dict) and "client_secret_trusted_ips" in universal
    ips = identity.auth.universal.client_secret_trusted_ips
    if not is_prod(ctx, identity.environment):
        ctx.passed("infisical.trusted-ips-open", resource, f"{identity.environment} is not a "
                   "production environment", kind="identities", path=base)
        return
    opened = [i for i, cidr in enumerate(ips) if is_open(cidr)]
    if not opened:
        ctx.passed("infisical.trusted-ips-open", resource, "client secret usable only from "
                   "listed networks", kind="identities", path=(*base, "client_secret_trusted_ips"))
    elif explicit:
        ctx.failed("infisical.trusted-ips-open", resource, "client_secret_trusted_ips allows "
                   "every address in production", kind="identities",
                   path=(*base, "client_secret_trusted_ips", opened[0]))
    else:
        ctx.failed("infisical.trusted-ips-open", resource, "client_secret_trusted_ips is unset, "
                   "so the client secret works from every address in production",
                   kind="identities", path=base)


def admin_reason(role: Role) -> str | None:
    """Why ``role`` amounts to admin, or None."""
    if role.name == "admin":
        return "is named admin"
    for permission in role.permissions:
        if permission.inverted or permission.subject not in PRIVILEGE_SUBJECTS:
            continue
        writes = sorted(WRITE_ACTIONS & set(permission.actions))
        if writes:
            return f"may {'/'.join(writes)} {permission.subject}"
    return None


def check_admin_roles(ctx: RuleContext) -> None:
    bound = {(name, i.environment) for i in ctx.inputs.identities for name in i.roles}
    for index, role in enumerate(ctx.inputs.roles):
        resource = f"role/{role.slug()}"
        reason = admin_reason(role)
        path: tuple[str | int, ...] = ("roles", index, "name")
        if reason is None:
            ctx.passed("infisical.admin-role", resource, f"role {role.display()} grants no "
                       "admin permissions", kind="roles", path=path)
        elif (role.name, role.environment) not in bound:
            ctx.passed("infisical.admin-role", resource, f"role {role.display()} {reason} but "
                       "no machine identity holds it", kind="roles", path=path)
        else:
            if role.name != "admin":
                path = ("roles", index, "permissions", _admin_permission(role))
            ctx.failed("infisical.admin-role", resource, f"role {role.display()} {reason} and "
                       "is bound to a machine identity", kind="roles", path=path)


def _admin_permission(role: Role) -> int:
    for index, permission in enumerate(role.permissions):
        if not permission.inverted and permission.subject in PRIVILEGE_SUBJECTS and (
            WRITE_ACTIONS & set(permission.actions)
        ):
            return index
    return 0
