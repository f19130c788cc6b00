"""The Infisical projects a workspace names, created where missing.

A project a workspace names is created as the service creates one for the team that
owns the sandbox's credentials: in the operator's organisation (a machine identity belongs
to one organisation, and converge reaches every project with the one identity the
sandbox prints; converge uses the organisation it reads in ``project.yaml`` only as the
owner label it writes on what it manages), with the default ``dev``/``staging``/``prod``
environments plus any other environment slug the workspace names, a root folder per
environment, and the operator as project admin (a project's creator is its admin).

An existing project is left as it is, except that an environment the workspace names and
the project lacks is added (with its root folder), as a person would add it in the
dashboard before running converge. Called after ``seed`` (the operator exists).
"""

from __future__ import annotations

from typing import Any

from converge_sandbox.infisical import folders
from converge_sandbox.infisical.routes_memberships import RoleAssignment, add_membership
from converge_sandbox.infisical.seed import environment_name, new_project
from converge_sandbox.infisical.state import InfisicalState, new_id
from converge_sandbox.wanted import WantedProjects
from converge_sandbox.world import SandboxWorld


def ensure(world: SandboxWorld, wanted: WantedProjects) -> list[str]:
    """Create the Infisical projects and environments ``wanted`` names that are missing;
    one line per object created."""
    if not wanted.infisical:
        return []
    state = InfisicalState(world)
    operator_id = state.operator_identity_id()
    if operator_id is None:
        raise LookupError("the Infisical sandbox is not seeded")
    org_id = str(state.identity(operator_id)["orgId"])
    by_slug = {p["slug"]: p for p in state.find("project", lambda p: p["orgId"] == org_id)}
    created: list[str] = []
    for item in wanted.infisical:
        project = by_slug.get(item.project)
        if project is None:
            project = new_project(state, org_id, item.project, item.project,
                                  item.environments)
            by_slug[item.project] = project
            add_membership(state, project["id"], operator_id, [RoleAssignment(role="admin")])
            created.append(f"Infisical project {item.project}")
        else:
            created += _add_environments(state, project, item.environments)
        for env in project["environments"]:
            if state.folder(project["id"], env["slug"], folders.ROOT) is None:
                folders.ensure_root(state, project, env)
    return created


def _add_environments(state: InfisicalState, project: dict[str, Any],
                      slugs: tuple[str, ...]) -> list[str]:
    have = {e["slug"] for e in project["environments"]}
    missing = [slug for slug in slugs if slug not in have]
    if not missing:
        return []
    position = max((int(e.get("position", 0)) for e in project["environments"]), default=0)
    for offset, slug in enumerate(missing, start=1):
        project["environments"].append({"id": new_id(), "name": environment_name(slug),
                                        "slug": slug, "position": position + offset})
    project["updatedAt"] = state.now()
    state.put("project", project["id"], project)
    return [f"Infisical environment {project['slug']}/{slug}" for slug in missing]
