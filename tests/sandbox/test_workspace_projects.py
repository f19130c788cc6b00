"""The sandbox creates the vendor-side projects a workspace names, and only those missing.

Each emulator's ``workspace.ensure`` on a seeded in-memory world: what it creates looks
like what the vendor creates (Infisical: default environments, root folders, the operator
as admin; Vercel: the project in its team, a new team with the user as member; Supabase:
an active project with its settings and keys, and no database until SQL runs there), and
a second call changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from converge_sandbox.infisical import seed as infisical_seed
from converge_sandbox.infisical import workspace as infisical_workspace
from converge_sandbox.infisical.state import InfisicalState
from converge_sandbox.supabase import seed as supabase_seed
from converge_sandbox.supabase import workspace as supabase_workspace
from converge_sandbox.supabase.state import VENDOR as SUPABASE
from converge_sandbox.vercel import seed as vercel_seed
from converge_sandbox.vercel import workspace as vercel_workspace
from converge_sandbox.vercel.state import VercelState
from converge_sandbox.wanted import parse_wanted
from converge_sandbox.world import SandboxWorld

WANTED = {
    "infisical": [
        {"organization": "globex", "project": "diary", "environments": ["prod", "qa-eu"]},
        {"organization": "acme", "project": "journal", "environments": ["prod", "preview"]},
    ],
    "vercel": [
        {"team": "globex", "project": "diary-web"},
        {"team": None, "project": "side-project"},
        {"team": "acme", "project": "journal-web"},
    ],
    "supabase": [
        {"organization": "globex", "ref": "diaryprodqzvtkwmrxab", "region": "eu-west",
         "name": "diary prod"},
        {"organization": "acme", "ref": "journalprodqzvtkwmrx", "region": None,
         "name": "journal prod"},
    ],
}


class CountingDatabase:
    """A DatabaseProvider that records which refs had their database created."""

    def __init__(self) -> None:
        self.created: list[str] = []

    def database_url(self, ref: str) -> str:
        self.created.append(ref)
        return f"postgresql://postgres@127.0.0.1/{ref}"

    def read_only_url(self, ref: str) -> str:
        return self.database_url(ref)

    def server_version(self) -> str:
        return "16.14"

    def set_database_settings(self, ref: str, settings: Mapping[str, str]) -> list[str]:
        return []


@pytest.fixture
def world() -> SandboxWorld:
    sandbox = SandboxWorld.in_memory()
    infisical_seed.seed(sandbox)
    vercel_seed.seed(sandbox)
    return sandbox


def test_infisical_project_is_created_as_the_service_creates_one(world: SandboxWorld) -> None:
    created = infisical_workspace.ensure(world, parse_wanted(WANTED))
    state = InfisicalState(world)
    diary = state.project_by_slug("diary")
    operator = infisical_seed.operator_identity_id(world)

    assert "Infisical project diary" in created
    assert [e["slug"] for e in diary["environments"]] == ["dev", "staging", "prod", "qa-eu"]
    assert diary["environments"][-1]["name"] == "Qa Eu"
    assert diary["orgId"] == infisical_seed.org_id(world)  # the operator's organisation
    assert all(state.folder(diary["id"], env["slug"], "/") for env in diary["environments"])
    membership = state.membership(diary["id"], operator)
    assert membership is not None and membership["roles"][0]["role"] == "admin"


def test_infisical_existing_project_only_gains_the_missing_environment(
    world: SandboxWorld,
) -> None:
    state = InfisicalState(world)
    before = state.project_by_slug("journal")

    created = infisical_workspace.ensure(world, parse_wanted(WANTED))
    after = state.project_by_slug("journal")

    assert "Infisical environment journal/preview" in created
    assert after["id"] == before["id"]
    assert after["environments"][:3] == before["environments"]
    assert after["environments"][3]["slug"] == "preview"
    assert state.folder(after["id"], "preview", "/") is not None


def test_vercel_project_lands_in_its_team_a_new_team_or_the_personal_account(
    world: SandboxWorld,
) -> None:
    created = vercel_workspace.ensure(world, parse_wanted(WANTED))
    state = VercelState(world)
    globex = state.team_by_slug("globex")

    assert globex is not None and globex.id == vercel_seed.team_id("globex")
    assert globex.members == [vercel_seed.user_id()]
    diary = state.project_in_account("diary-web", globex.id)
    assert diary is not None and diary.id == vercel_seed.project_id("diary-web")
    assert state.project_in_account("side-project", vercel_seed.user_id()) is not None
    assert created == ["Vercel team globex", "Vercel project diary-web in globex",
                       "Vercel project side-project in the personal account"]


def test_a_vercel_project_of_one_name_in_two_teams_gets_two_ids(world: SandboxWorld) -> None:
    vercel_workspace.ensure(world, parse_wanted(
        {"vercel": [{"team": "globex", "project": "journal-web"}]}))
    state = VercelState(world)
    globex = state.team_by_slug("globex")
    assert globex is not None
    theirs = state.project_in_account("journal-web", globex.id)
    ours = state.project_in_account("journal-web", vercel_seed.team_id())
    assert theirs is not None and ours is not None and theirs.id != ours.id


def test_supabase_ref_is_an_active_project_without_a_database_yet() -> None:
    database = CountingDatabase()
    world = SandboxWorld.in_memory(database=database)
    created = supabase_workspace.ensure(world, parse_wanted(WANTED))

    project = world.store.get(SUPABASE, "project", "diaryprodqzvtkwmrxab")
    assert project is not None
    assert project["status"] == "ACTIVE_HEALTHY"
    assert project["region"] == "eu-west-1"
    assert project["organization_slug"] == "globex"
    assert project["database"]["version"] == "16.14"
    assert world.store.get(SUPABASE, "organization", "globex") is not None
    assert world.store.list(SUPABASE, "api_key", prefix="diaryprodqzvtkwmrxab/")
    assert world.store.get(SUPABASE, "auth_config", "diaryprodqzvtkwmrxab") is not None
    assert database.created == []  # cloned on the first SQL use, not before
    assert "Supabase project diaryprodqzvtkwmrxab" in created


def test_supabase_seeded_ref_is_left_alone() -> None:
    world = SandboxWorld.in_memory()
    supabase_seed.seed(world)  # documents only: no PostgreSQL in this test
    world.database = CountingDatabase()
    before = world.store.get(SUPABASE, "project", "journalprodqzvtkwmrx")

    supabase_workspace.ensure(world, parse_wanted(WANTED))

    assert world.store.get(SUPABASE, "project", "journalprodqzvtkwmrx") == before


@pytest.mark.parametrize(
    ("named", "region"),
    [("eu-west", "eu-west-1"), ("ap-southeast-2", "ap-southeast-2"), (None, "us-east-1"),
     ("mars", "us-east-1")],
)
def test_a_converge_region_picks_the_supabase_region_it_stands_for(
    named: str | None, region: str
) -> None:
    assert supabase_workspace.supabase_region(named) == region


def test_a_second_ensure_creates_nothing() -> None:
    world = SandboxWorld.in_memory()
    for seed in (infisical_seed.seed, vercel_seed.seed, supabase_seed.seed):
        seed(world)
    world.database = CountingDatabase()
    wanted = parse_wanted(WANTED)
    ensures = (infisical_workspace.ensure, vercel_workspace.ensure, supabase_workspace.ensure)
    first = [ensure(world, wanted) for ensure in ensures]
    snapshot = {kind: world.store.list(vendor, kind)
                for vendor, kind in (("infisical", "project"), ("vercel", "project"),
                                     ("supabase", "project"))}

    second = [ensure(world, wanted) for ensure in ensures]

    assert all(first) and second == [[], [], []]
    assert snapshot == {kind: world.store.list(vendor, kind)
                        for vendor, kind in (("infisical", "project"), ("vercel", "project"),
                                             ("supabase", "project"))}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"infisical": [{"organization": "acme", "project": "a/../b"}]}, "infisical[0].project"),
        ({"vercel": [{"team": "acme", "project": "UPPER"}]}, "vercel[0].project"),
        ({"supabase": [{"organization": "acme", "ref": "short"}]}, "supabase[0].ref"),
        ({"infisical": [{"organization": "acme", "project": "a", "environments": ["x y"]}]},
         "infisical[0].environments"),
        ({"github": []}, "unknown vendor"),
        ([], "must be an object"),
    ],
)
def test_a_description_that_names_no_valid_vendor_object_is_refused(
    data: Any, field: str
) -> None:
    with pytest.raises(ValueError, match=field.replace("[", r"\[").replace("]", r"\]")):
        parse_wanted(data)


def test_one_infisical_project_named_twice_gets_both_environments() -> None:
    wanted = parse_wanted({"infisical": [
        {"organization": "acme", "project": "shared", "environments": ["prod"]},
        {"organization": "acme", "project": "shared", "environments": ["staging", "qa"]},
    ]})
    assert [p.environments for p in wanted.infisical] == [("prod", "staging", "qa")]
