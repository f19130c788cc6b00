"""The per-vendor health checks behind ``ops.health.check_health`` (reads only).

Each function takes a vendor client and the verified desired state and returns one
``HealthCheck`` per question; nothing here prints or writes. Values read back (public
Vercel variables, the published anon key) are only classified, never shown.
"""

from __future__ import annotations

from collections.abc import Sequence

from converge.desired import DesiredState, DesiredVariable
from converge.ops.health import HealthCheck, failed, passed, skipped
from converge.policies.rules_supabase import MAX_JWT_EXP
from converge.policies.secrets import find_secrets, jwt_role
from converge.vendors.infisical.client import InfisicalClient
from converge.vendors.infisical.reconciler import infisical_target
from converge.vendors.supabase.client import SupabaseClient
from converge.vendors.supabase.diff import publish_items
from converge.vendors.supabase.keys import PUBLISHABLE_PREFIX
from converge.vendors.supabase.observe import observe_project
from converge.vendors.vercel.client import ProjectScope, VercelClient
from converge.vendors.vercel.observe import ObservedVariable, observe_variables, wire_type
from converge.vendors.vercel.publisher import PUBLIC_PREFIX

INFISICAL, VERCEL, SUPABASE = "infisical", "vercel", "supabase"


# -- Infisical -------------------------------------------------------------------------


def check_infisical(client: InfisicalClient, desired: DesiredState) -> list[HealthCheck]:
    """Roles exist; identities exist with Universal Auth; bindings are held."""
    target = infisical_target(desired)
    if target is None:
        return []
    project = client.get_project(target.project)
    checks: list[HealthCheck] = []
    role_slugs = {r.slug for r in client.list_roles(project.id)}
    for role in desired.roles:
        name = f"role {role.slug} exists"
        checks.append(passed(INFISICAL, name) if role.slug in role_slugs
                      else failed(INFISICAL, name, "not found in the project's roles"))
    identities = {row.identity.name: row for row in client.list_identities(project.orgId)}
    ids: dict[str, str] = {}
    for identity in desired.identities:
        row = identities.get(identity.name)
        name = f"identity {identity.name} exists with universal auth"
        if row is None:
            checks.append(failed(INFISICAL, name, "no such identity in the organization"))
            continue
        ids[identity.name] = row.identity.id
        ua = client.get_universal_auth(row.identity.id)
        if ua is None:
            checks.append(failed(INFISICAL, name, "universal auth is not attached"))
        else:
            checks.append(passed(INFISICAL, name, f"access token TTL {ua.accessTokenTTL}s"))
    memberships = {m.identityId: m for m in client.list_memberships(project.id)}
    for binding in desired.bindings:
        name = f"binding {binding.identity} -> {binding.role_slug}"
        identity_id = ids.get(binding.identity) or (
            identities[binding.identity].identity.id if binding.identity in identities else None)
        membership = memberships.get(identity_id) if identity_id else None
        if membership is None:
            checks.append(failed(INFISICAL, name, "the identity is not a member of the project"))
        elif binding.role_slug not in membership.role_slugs():
            checks.append(failed(INFISICAL, name, "the membership does not hold the role"))
        else:
            checks.append(passed(INFISICAL, name))
    return checks


# -- Vercel ----------------------------------------------------------------------------


class VercelView:
    """The env vars of each Vercel project, listed once per health run."""

    def __init__(self, client: VercelClient):
        self.client = client
        self._records: dict[ProjectScope, tuple[ObservedVariable, ...]] = {}

    def records(self, scope: ProjectScope) -> tuple[ObservedVariable, ...]:
        if scope not in self._records:
            self._records[scope] = observe_variables(self.client, scope)
        return self._records[scope]


def _presence(
    records: Sequence[ObservedVariable], *, key: str, targets: Sequence[str], env_type: str,
    system: str,
) -> HealthCheck:
    wanted = sorted(set(targets))
    name = f"{key} present ({', '.join(wanted)}, {env_type})"
    same_key = [r for r in records if r.key == key and r.general]
    exact = [r for r in same_key if list(r.targets) == wanted]
    if not exact:
        seen = "; ".join(", ".join(r.targets) for r in same_key)
        why = f"found only for targets {seen}" if seen else "not found"
        return failed(system, name, why)
    if exact[0].type != env_type:
        return failed(system, name, f"type is {exact[0].type}")
    return passed(system, name)


def _public_secret_checks(
    records: Sequence[ObservedVariable], *, where: str
) -> list[HealthCheck]:
    plain = [r for r in records if r.type == "plain" and r.value]
    checks: list[HealthCheck] = []
    for record in plain:
        findings = find_secrets(record.value or "", key=record.key)
        if findings:
            checks.append(failed(VERCEL, f"{record.key} is public and holds no secret",
                                 f"looks like {findings[0].kind}"))
    if not checks:
        checks.append(passed(VERCEL, f"no secret in the {len(plain)} public variable(s) of "
                                     f"{where}"))
    return checks


def check_vercel(view: VercelView, desired: DesiredState) -> list[HealthCheck]:
    """Desired variables present with their targets and types; no public secret."""
    if desired.vercel is None:
        return []
    scope = ProjectScope(team=desired.vercel.team, project=desired.vercel.project)
    records = view.records(scope)
    variables: Sequence[DesiredVariable] = sorted(
        desired.vercel.variables, key=lambda v: (v.key, sorted(v.targets)))
    checks = [
        _presence(records, key=v.key, targets=v.targets, env_type=wire_type(v), system=VERCEL)
        for v in variables
    ]
    return checks + _public_secret_checks(records, where=scope.describe())


# -- Supabase --------------------------------------------------------------------------


def _published_type(key: str, targets: Sequence[str]) -> str:
    """The type the publisher writes (``VercelPublisher.publish``)."""
    if key.startswith(PUBLIC_PREFIX):
        return "plain"
    return "encrypted" if "development" in targets else "sensitive"


def check_supabase(
    client: SupabaseClient, desired: DesiredState, view: VercelView | None
) -> list[HealthCheck]:
    """RLS on every declared table; jwt_exp within policy; published anon key is anon."""
    supabase = desired.supabase
    if supabase is None:
        return []
    checks: list[HealthCheck] = []
    schemas = supabase.rls_schemas if supabase.rls_enforce else None
    for project in supabase.projects:
        ref = project.ref
        seen = observe_project(client, ref, rls_schemas=schemas)
        exp = seen.auth.get("jwt_exp")
        name = f"{ref} jwt_exp within {MAX_JWT_EXP}s"
        if isinstance(exp, int) and 0 < exp <= MAX_JWT_EXP:
            checks.append(passed(SUPABASE, name, f"jwt_exp={exp}s"))
        else:
            checks.append(failed(SUPABASE, name, f"jwt_exp={exp}"))
        if seen.tables is None:
            checks.append(skipped(SUPABASE, f"{ref} row-level security",
                                  "RLS is not enforced by the desired state"))
            continue
        open_tables = [f"{t.schema_name}.{t.table_name}" for t in seen.tables if not t.rls]
        name = f"{ref} RLS on every table of {', '.join(schemas or ())}"
        if open_tables:
            checks.append(failed(SUPABASE, name, f"RLS off on {', '.join(open_tables)}"))
        else:
            checks.append(passed(SUPABASE, name, f"{len(seen.tables)} table(s)"))
    if not supabase.publish or supabase.publish_to is None:
        return checks
    if view is None:
        return [*checks, skipped(SUPABASE, "published variables", "no Vercel client")]
    team, vproject = supabase.publish_to
    scope = ProjectScope(team=team, project=vproject)
    records = view.records(scope)
    for item in publish_items(supabase):
        env_type = _published_type(item.key, item.targets)
        checks.append(_presence(records, key=item.key, targets=item.targets,
                                env_type=env_type, system=SUPABASE))
        if item.source == "anon_key":
            checks.append(_anon_key_check(records, item.key, item.targets))
    if desired.vercel is None or (desired.vercel.team, desired.vercel.project) != (
        team, vproject
    ):
        checks += _public_secret_checks(records, where=scope.describe())
    return checks


def _anon_key_check(
    records: Sequence[ObservedVariable], key: str, targets: Sequence[str]
) -> HealthCheck:
    name = f"{key} carries the JWT role anon"
    found = [r for r in records if r.key == key and list(r.targets) == sorted(set(targets))]
    if not found:
        return failed(SUPABASE, name, "the variable is not published")
    value = found[0].value
    if value is None:
        return skipped(SUPABASE, name, f"{key} is {found[0].type}: its value cannot be read")
    role = jwt_role(value)
    if role == "anon":
        return passed(SUPABASE, name)
    if role is None and value.startswith(PUBLISHABLE_PREFIX):
        return passed(SUPABASE, name, "a publishable key (public by design, not a JWT)")
    shown = role if role in ("service_role", "authenticated", "supabase_admin") else "other"
    return failed(SUPABASE, name, f"role is {shown!r}" if role else "not a JWT")
