"""What the options leave out is inferred from the vendors, or refused with a reason."""

from __future__ import annotations

import pytest

from converge.errors import ConvergeError
from converge.importer.findings import Findings
from converge.importer.infisical import InfisicalSnapshot, MemberIdentity
from converge.importer.request import EnvironmentSpec, SupabaseRefSpec, build_request
from converge.importer.run import Environment, resolve_environments, resolve_organization
from converge.vendors.infisical import wire

SLUGS = ("dev", "staging", "prod")


def snapshot(*owners: str) -> InfisicalSnapshot:
    project = wire.Project(id="p", slug="analytics", orgId="o", environments=[
        wire.Environment(id=s, name=s, slug=s) for s in SLUGS])
    role = wire.Role(id="r", slug="reader-preview", name="reader (preview)",
                     description=f"[managed by converge: {owners[0]}]" if owners else None,
                     permissions=[{"subject": "secrets", "action": ["readValue"],
                                   "conditions": {"environment": {"$eq": "staging"}}}])
    identities = tuple(MemberIdentity(id=o, name=f"x@{o}", auth_methods=(),
                                      metadata=(("converge.managed-by", o),),
                                      universal_auth=None, roles=()) for o in owners[1:])
    return InfisicalSnapshot(project, (role,), identities)


def test_slugs_and_targets_are_inferred_where_the_options_are_silent() -> None:
    request = build_request("analytics", infisical_project="analytics",
                            vercel_project="analytics-dashboard",
                            environments=(EnvironmentSpec("prod"), EnvironmentSpec("preview"),
                                          EnvironmentSpec("qa", vercel=("preview",))))
    findings = Findings()
    envs = resolve_environments(request, snapshot("acme/analytics"), findings)
    assert envs == (
        Environment("prod", "prod", ("production",), None, ()),
        Environment("preview", "staging", ("preview",), None, ()),  # from the role's rules
        Environment("qa", None, ("preview",), None, ()),
    )
    assert [f.subject for f in findings.items] == ["environment qa"]


def test_an_explicit_slug_must_exist_in_the_infisical_project() -> None:
    request = build_request("analytics", infisical_project="analytics",
                            environments=(EnvironmentSpec("prod", infisical="live"),))
    with pytest.raises(ConvergeError, match="has no environment 'live'"):
        resolve_environments(request, snapshot(), Findings())


def test_supabase_refs_land_in_their_environment_and_region() -> None:
    request = build_request("auth-service", supabase_refs=(
        SupabaseRefSpec("a" * 20, "prod", "eu-west"), SupabaseRefSpec("b" * 20, "prod", None)))
    (env,) = resolve_environments(request, None, Findings())
    assert (env.supabase, env.regions, env.vercel) == ("b" * 20, (("eu-west", "a" * 20),), ())


def test_the_organisation_comes_from_converges_markers_or_the_option() -> None:
    request = build_request("analytics", infisical_project="analytics")
    assert resolve_organization(request, snapshot("acme/analytics", "acme/other")) == "acme"
    with pytest.raises(ConvergeError, match="nothing converge manages names one") as caught:
        resolve_organization(request, snapshot())
    assert "--organization" in caught.value.hint
    with pytest.raises(ConvergeError, match="markers name acme, beta"):
        resolve_organization(request, snapshot("acme/analytics", "beta/analytics"))
    explicit = build_request("analytics", infisical_project="analytics", organization="Bad Org")
    with pytest.raises(ConvergeError, match="not a slug"):
        resolve_organization(explicit, None)
    vercel_only = build_request("analytics", vercel_project="analytics-dashboard")
    assert resolve_organization(vercel_only, None) == ""
