"""The Supabase project refs a workspace names, created where missing, small.

A ref the sandbox lacks becomes an ``ACTIVE_HEALTHY`` project of the organisation the
workspace names (the organisation is created when missing: the access token's owner
belongs to every organisation of the sandbox), in the Supabase region its converge region
stands for (``eu-west`` -> ``eu-west-1``; ``us-east-1`` when it names none), with a new
project's settings and API keys. Its database is not created here: the ref's database is
cloned from the cluster's template on its first SQL use (``PostgresServer.database_url``),
so a workspace of 1,000 refs costs no disk until converge or a migration runs SQL there.

Existing projects and organisations are left alone. Called after ``seed``.
"""

from __future__ import annotations

from converge_sandbox.supabase.projects import REGIONS
from converge_sandbox.supabase.seed import project_doc, put_project_settings
from converge_sandbox.supabase.state import VENDOR, database_info
from converge_sandbox.wanted import WantedProjects
from converge_sandbox.world import SandboxWorld

DEFAULT_REGION = "us-east-1"


def supabase_region(named: str | None) -> str:
    """The Supabase region a converge region name stands for: itself when it is one, the
    first region it prefixes (``eu-west`` -> ``eu-west-1``), else the default."""
    if named in REGIONS:
        return named
    if named:
        found = next((r for r in REGIONS if r.startswith(named + "-")), None)
        if found is not None:
            return found
    return DEFAULT_REGION


def ensure(world: SandboxWorld, wanted: WantedProjects) -> list[str]:
    """Create the organisations and projects ``wanted`` names that are missing (without
    their databases); one line per object created."""
    if not wanted.supabase:
        return []
    store = world.store
    created: list[str] = []
    known = {p["ref"]: p for p in store.views(VENDOR, "project")}
    number = max((int(p.get("numeric_id", 0)) for p in known.values()), default=0)
    for item in wanted.supabase:
        if item.ref in known:
            continue
        organization = store.get(VENDOR, "organization", item.organization)
        if organization is None:
            organization = {"id": item.organization, "slug": item.organization,
                            "name": item.organization}
            store.put(VENDOR, "organization", item.organization, organization)
            created.append(f"Supabase organization {item.organization}")
        number += 1
        project = project_doc(ref=item.ref, name=item.name or item.ref,
                              region=supabase_region(item.region), organization=organization,
                              number=number, now=world.clock())
        project["database"] = database_info(world, item.ref)
        store.put(VENDOR, "project", item.ref, project)
        put_project_settings(world, item.ref, project)
        known[item.ref] = project
        created.append(f"Supabase project {item.ref}")
    return created
