"""The import's options: environment and Supabase ref specs, and what must agree."""

from __future__ import annotations

import pytest

from converge.importer.request import (
    EnvironmentSpec,
    SupabaseRefSpec,
    build_request,
    parse_environment,
    parse_supabase_ref,
)

REF = "journalprodqzvtkwmrx"


@pytest.mark.parametrize(("text", "spec"), [
    ("prod", EnvironmentSpec("prod")),
    ("prod=prod", EnvironmentSpec("prod", infisical="prod")),
    ("preview=staging:preview+development",
     EnvironmentSpec("preview", infisical="staging", vercel=("preview", "development"))),
    ("prod:production", EnvironmentSpec("prod", vercel=("production",))),
    ("dev=:", EnvironmentSpec("dev", infisical="", vercel=())),
])
def test_environment_specs(text: str, spec: EnvironmentSpec) -> None:
    assert parse_environment(text) == spec


@pytest.mark.parametrize(("text", "says"), [
    ("Prod", "not a valid environment name"),
    ("prod:live", "unknown Vercel target 'live'"),
    ("prod=Pr od", "not an Infisical environment slug"),
    ("a:b:c", "expected NAME[=SLUG][:TARGET[+TARGET…]]"),
])
def test_malformed_environment_specs_say_why(text: str, says: str) -> None:
    with pytest.raises(ValueError, match="--environment") as caught:
        parse_environment(text)
    assert says in str(caught.value)


def test_supabase_ref_specs() -> None:
    assert parse_supabase_ref(REF) == SupabaseRefSpec(REF)
    assert parse_supabase_ref(f"prod={REF}") == SupabaseRefSpec(REF, "prod")
    assert parse_supabase_ref(f"eu-west/prod={REF}") == SupabaseRefSpec(REF, "prod", "eu-west")
    with pytest.raises(ValueError, match="20 lower-case letters"):
        parse_supabase_ref("prod=not-a-ref")


def test_a_request_names_a_vendor_and_defaults_to_one_prod_environment() -> None:
    with pytest.raises(ValueError, match="name something to import"):
        build_request("journal")
    request = build_request("journal", supabase_refs=(SupabaseRefSpec(REF),))
    assert request.environments == (EnvironmentSpec("prod"),)
    assert request.supabase_refs == (SupabaseRefSpec(REF, "prod"),)
    assert request.sources() == [f"Supabase {REF}"]


def test_supabase_refs_must_land_in_one_declared_slot() -> None:
    envs = (EnvironmentSpec("prod"), EnvironmentSpec("preview"))
    with pytest.raises(ValueError, match="say which environment"):
        build_request("journal", environments=envs, supabase_refs=(SupabaseRefSpec(REF),))
    with pytest.raises(ValueError, match="environment staging is not declared"):
        build_request("journal", environments=envs,
                      supabase_refs=(SupabaseRefSpec(REF, "staging"),))
    with pytest.raises(ValueError, match="more than one project ref"):
        build_request("journal", environments=envs, supabase_refs=(
            SupabaseRefSpec(REF, "prod"), SupabaseRefSpec("a" * 20, "prod")))
    with pytest.raises(ValueError, match="given twice"):
        build_request("journal", environments=(*envs, EnvironmentSpec("prod")),
                      infisical_project="journal")
    with pytest.raises(ValueError, match="--vercel-team needs --vercel-project"):
        build_request("journal", infisical_project="journal", vercel_team="acme")
