"""Waves of a rollout and the engine's region filter (pure: no vendor, no I/O)."""

from __future__ import annotations

from typing import Any

from converge.config.models import Project
from converge.desired import DesiredState, DesiredSupabase, SupabaseProjectRef
from converge.engine.reconcile import select_regions
from converge.ops.rollout import Wave, plan_waves


def _project(**extra: Any) -> Project:
    doc: dict[str, Any] = {
        "name": "auth-service",
        "targets": {"infisical": {"organization": "acme", "project": "auth-service"}},
        "environments": {"prod": {"infisical": "prod"}},
        **extra,
    }
    return Project.model_validate(doc)


def _desired(*refs: tuple[str | None, str]) -> DesiredState:
    supabase = DesiredSupabase(
        projects=tuple(SupabaseProjectRef("prod", region, ref) for region, ref in refs),
        auth={},
        rls_enforce=True,
        rls_schemas=("public",),
        exposed_schemas=("public",),
        publish=(),
    )
    return DesiredState("auth-service", "d", "m", (), (), (), None, supabase if refs else None)


EU, US, AP, SHARED = "e" * 20, "u" * 20, "a" * 20, "s" * 20
REGIONS = {
    "eu-west": {"environments": {"prod": {"supabase": EU}}},
    "us-east": {"environments": {"prod": {"supabase": US}}},
}


def test_waves_follow_rollout_waves_and_the_first_carries_the_shared_systems() -> None:
    project = _project(regions=REGIONS, rollout={"waves": [["eu-west"], ["us-east"]]})

    waves = plan_waves(project, _desired(("eu-west", EU), ("us-east", US)))

    assert waves == [Wave(1, ("eu-west",), True), Wave(2, ("us-east",), False)]
    assert (waves[0].systems, waves[0].selection) == (None, ("eu-west", None))
    assert (waves[1].systems, waves[1].selection) == (("supabase",), ("us-east",))


def test_regions_no_wave_names_go_out_last_and_no_rollout_block_means_one_wave_each() -> None:
    regions = {**REGIONS, "ap-south": {"environments": {"prod": {"supabase": AP}}}}
    named = _project(regions=regions, rollout={"waves": [["us-east"]]})
    unnamed = _project(regions=regions)
    desired = _desired(("eu-west", EU), ("us-east", US), ("ap-south", AP))

    assert [w.regions for w in plan_waves(named, desired)] == [
        ("us-east",),
        ("ap-south", "eu-west"),
    ]
    assert [w.regions for w in plan_waves(unnamed, desired)] == [
        ("ap-south",),
        ("eu-west",),
        ("us-east",),
    ]


def test_a_project_without_regions_is_one_wave_of_everything() -> None:
    waves = plan_waves(_project(), _desired((None, "r" * 20)))

    assert waves == [Wave(1, (), True)]
    assert (waves[0].systems, waves[0].selection) == (None, None)


def test_select_regions_keeps_only_the_refs_of_those_regions() -> None:
    desired = _desired((None, SHARED), ("eu-west", EU), ("us-east", US))

    def refs(regions: tuple[str | None, ...] | None) -> list[str] | None:
        supabase = select_regions(desired, regions).supabase
        return None if supabase is None else [p.ref for p in supabase.projects]

    assert refs(None) == [SHARED, EU, US]
    assert refs(("eu-west", None)) == [SHARED, EU]
    assert refs(("us-east",)) == [US]
    assert refs(("ap-south",)) is None  # nothing left: Supabase is not applied at all
