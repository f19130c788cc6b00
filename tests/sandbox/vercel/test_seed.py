"""The seeded Vercel world: what it holds, its stable ids, and idempotence."""

from __future__ import annotations

import re

from converge_sandbox.vercel import seed as vercel_seed
from converge_sandbox.vercel.models import VENDOR
from converge_sandbox.world import SandboxWorld


def test_seed_creates_team_acme_with_two_projects() -> None:
    world = SandboxWorld.in_memory()
    vercel_seed.seed(world)
    team = world.store.get(VENDOR, "team", vercel_seed.team_id())
    assert team is not None and team["slug"] == "acme"
    projects = world.store.list(VENDOR, "project")
    assert sorted(p["name"] for p in projects) == ["analytics-dashboard", "journal-web"]
    assert {p["account_id"] for p in projects} == {vercel_seed.team_id()}


def test_seeded_ids_have_vercel_shapes() -> None:
    assert re.fullmatch(r"team_[A-Za-z0-9]{24}", vercel_seed.team_id())
    assert re.fullmatch(r"prj_[A-Za-z0-9]{28}", vercel_seed.project_id("journal-web"))
    assert vercel_seed.project_id("journal-web") != vercel_seed.project_id("analytics-dashboard")


def test_only_analytics_dashboard_holds_the_unmanaged_var() -> None:
    world = SandboxWorld.in_memory()
    vercel_seed.seed(world)
    envs = world.store.list(VENDOR, "env")
    assert [(e["project_id"], e["key"], e["type"], e["target"]) for e in envs] == [(
        vercel_seed.project_id("analytics-dashboard"), "SEGMENT_WRITE_KEY", "encrypted",
        ["production"],
    )]
    assert not envs[0]["key"].startswith(("INFISICAL_", "NEXT_PUBLIC_"))


def test_seed_twice_changes_nothing() -> None:
    world = SandboxWorld.in_memory()
    vercel_seed.seed(world)
    before = {kind: world.store.list(VENDOR, kind) for kind in ("user", "team", "project", "env")}
    vercel_seed.seed(world)
    after = {kind: world.store.list(VENDOR, kind) for kind in ("user", "team", "project", "env")}
    assert before == after


def test_seed_keeps_a_changed_unmanaged_var() -> None:
    world = SandboxWorld.in_memory()
    vercel_seed.seed(world)
    key = f"{vercel_seed.project_id('analytics-dashboard')}/{vercel_seed.unmanaged_env_id()}"
    doc = world.store.get(VENDOR, "env", key)
    assert doc is not None
    world.store.put(VENDOR, "env", key, {**doc, "value": "rotated"})
    vercel_seed.seed(world)
    assert [e["value"] for e in world.store.list(VENDOR, "env")] == ["rotated"]
