"""The Vercel projects a workspace names, created where missing.

A project is created in the team the workspace names (``team`` as a slug or a
``team_…`` id), or in the sandbox user's personal account when it names none; a team the
sandbox lacks is created with the sandbox user as its member, as a person creates a team
in the dashboard. A project named by its ``prj_…`` id that does not exist is created with
that id. Ids of new projects and teams derive from their names (``seed.project_id``,
``seed.team_id``), so tests and later code know them without a lookup, unless another
account already holds that id.

Existing teams and projects are left alone. Called after ``seed`` (the user exists).
"""

from __future__ import annotations

from converge_sandbox.vercel.models import ProjectRecord, TeamRecord
from converge_sandbox.vercel.seed import project_id, team_id, user_id
from converge_sandbox.vercel.state import VercelState
from converge_sandbox.wanted import WantedProjects
from converge_sandbox.world import SandboxWorld


def ensure(world: SandboxWorld, wanted: WantedProjects) -> list[str]:
    """Create the Vercel teams and projects ``wanted`` names that are missing; one line per
    object created."""
    if not wanted.vercel:
        return []
    state = VercelState(world)
    uid = user_id()
    if world.store.get("vercel", "user", uid) is None:
        raise LookupError("the Vercel sandbox is not seeded")
    teams = {t.slug: t for t in state.teams()} | {t.id: t for t in state.teams()}
    projects = state.projects()
    by_name = {(p.account_id, p.name) for p in projects}
    ids = {p.id for p in projects}
    created: list[str] = []
    now = state.now_ms()
    for item in wanted.vercel:
        account = uid
        if item.team is not None:
            team = teams.get(item.team)
            if team is None:
                team = _new_team(item.team, uid, now)
                state.put_team(team)
                teams[team.slug] = teams[team.id] = team
                created.append(f"Vercel team {team.slug}")
            account = team.id
        if item.project in ids or (account, item.project) in by_name:
            continue
        record = _new_project(item.project, account, ids, now)
        state.put_project(record)
        ids.add(record.id)
        by_name.add((account, record.name))
        where = item.team or "the personal account"
        created.append(f"Vercel project {record.name} in {where}")
    return created


def _new_team(named: str, uid: str, now: int) -> TeamRecord:
    if named.startswith("team_"):
        return TeamRecord(id=named, slug=named.lower().replace("_", "-"), name=named,
                          created_at=now, members=[uid])
    return TeamRecord(id=team_id(named), slug=named, name=named, created_at=now,
                      members=[uid])


def _new_project(named: str, account: str, taken: set[str], now: int) -> ProjectRecord:
    if named.startswith("prj_"):
        pid, name = named, named.lower()
    else:
        pid, name = project_id(named), named
        if pid in taken:  # the same name in another account
            pid = project_id(named, account)
    return ProjectRecord(id=pid, name=name, account_id=account, created_at=now,
                         updated_at=now, framework="nextjs")
