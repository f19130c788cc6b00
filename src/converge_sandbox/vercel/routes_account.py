"""User, team and project lookups: what every Vercel CLI command asks first.

The CLI prelude (vendor-cli-wire.md §1) is ``GET /v2/user``, ``GET /teams/{orgId}`` (no
version prefix), ``GET /v9/projects/{idOrName}?teamId=…`` and, for ``env`` commands,
``GET /projects/{id}/custom-environments``; ``--scope`` adds ``GET /v1/teams``. The
Terraform provider reads ``/v2/teams/{id}`` and ``/v10/projects/{id}``, so those
version prefixes answer too.

The project list is ``GET /v10/projects`` for ``@vercel/sdk`` (``projects.getProjects``),
``/v9/projects`` for ``vercel project ls`` and ``/v8/projects`` for Terraform; see
``list_projects_page`` for its paging.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from converge_sandbox.vercel.errors import bad_request, not_authorized, not_found
from converge_sandbox.vercel.models import ProjectRecord
from converge_sandbox.vercel.scope import authenticate, resolve_caller, resolve_project
from converge_sandbox.vercel.state import VercelState
from converge_sandbox.vercel.wire import render_project, render_team, render_user

PROJECT_VERSIONS = ("v8", "v9", "v10")
LIST_PROJECT_VERSIONS = ("v4", "v8", "v9", "v10")
DEFAULT_PROJECT_LIMIT = 20
MAX_PROJECT_LIMIT = 100
MAX_SEARCH = 100
# Filters on things the sandbox's projects never have (a Git repository, an Edge Config):
# they match no project, as they would match none of such projects on Vercel.
_UNMATCHABLE_FILTERS = ("repo", "repoId", "repoUrl", "edgeConfigId", "edgeConfigTokenId")


def _timestamp(query: Mapping[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise bad_request(f"Invalid request: `{name}` should be a timestamp in milliseconds.")
    return int(raw)


def _limit(query: Mapping[str, str]) -> int:
    raw = query.get("limit")
    if raw is None or raw == "":
        return DEFAULT_PROJECT_LIMIT
    if not raw.isdigit():
        raise bad_request("Invalid request: `limit` should be number.")
    limit = int(raw)
    if not 1 <= limit <= MAX_PROJECT_LIMIT:
        raise bad_request(
            f"Invalid request: `limit` should be between 1 and {MAX_PROJECT_LIMIT}."
        )
    return limit


def list_projects_page(
    projects: list[ProjectRecord], query: Mapping[str, str]
) -> tuple[list[ProjectRecord], dict[str, int | None]]:
    """One page of an account's projects and its ``pagination`` object.

    Most recently updated first, ``limit`` per page (20 by default, at most 100, Vercel's
    documented paging). ``pagination.next`` is the ``updatedAt`` of the page's last
    project: passed back as ``until`` (the Vercel CLI's ``--next``, Terraform) or as
    ``from`` (the only cursor ``@vercel/sdk``'s ``getProjects`` sends) it gives the next
    page; ``since`` keeps projects updated after a time, and ``pagination.prev`` (the first
    project's time, when newer ones exist) used as ``since`` walks back. Whether Vercel
    reads a plain-timestamp ``from`` the same way is unconfirmed: its description says
    "updated after the given timestamp or continuation token", and the sandbox treats it
    as the continuation of ``next``. ``search`` matches a part of the name; filters on
    Git repositories and Edge Configs match nothing, and ``deprecated=true`` (a Node.js
    version being retired) matches nothing since every sandbox project runs 22.x.
    """
    limit = _limit(query)
    until = _timestamp(query, "until")
    cursor = _timestamp(query, "from")
    since = _timestamp(query, "since")
    search = query.get("search") or ""
    if len(search) > MAX_SEARCH:
        raise bad_request(
            f"Invalid request: `search` should NOT be longer than {MAX_SEARCH} characters."
        )
    if any(query.get(name) for name in _UNMATCHABLE_FILTERS) or query.get("deprecated") == "true":
        projects = []
    newest_first = sorted(projects, key=lambda p: (p.updated_at, p.id), reverse=True)
    matching = [p for p in newest_first if search.lower() in p.name.lower()]
    before = min((t for t in (until, cursor) if t is not None), default=None)
    window = [
        p for p in matching
        if (before is None or p.updated_at < before) and (since is None or p.updated_at > since)
    ]
    walking_back = since is not None and before is None  # the page just newer than since
    page = window[-limit:] if walking_back else window[:limit]
    older = bool(page) and any(p.updated_at < page[-1].updated_at for p in matching)
    newer = bool(page) and any(p.updated_at > page[0].updated_at for p in matching)
    pagination: dict[str, int | None] = {
        "count": len(page),
        "next": page[-1].updated_at if older else None,
        "prev": page[0].updated_at if newer else None,
    }
    return page, pagination


def account_routes(state: VercelState) -> list[BaseRoute]:
    """Routes for ``/v2/user``, teams, projects and custom environments."""

    async def get_user(request: Request) -> Response:
        user = authenticate(request, state)
        return JSONResponse({"user": render_user(user)})

    async def get_team(request: Request) -> Response:
        user = authenticate(request, state)
        wanted = str(request.path_params["teamId"])
        team = state.team(wanted) or state.team_by_slug(wanted)
        if team is None:
            raise not_found("Team not found")
        if user.id not in team.members:
            raise not_authorized()
        return JSONResponse(render_team(team))

    async def list_teams(request: Request) -> Response:
        user = authenticate(request, state)
        teams = [render_team(t) for t in state.teams() if user.id in t.members]
        return JSONResponse(
            {"teams": teams, "pagination": {"count": len(teams), "next": None, "prev": None}}
        )

    async def get_project(request: Request) -> Response:
        _, project = resolve_project(request, state)
        return JSONResponse(render_project(project))

    async def list_projects(request: Request) -> Response:
        caller = resolve_caller(request, state)
        owned = [p for p in state.projects() if p.account_id == caller.account_id]
        page, pagination = list_projects_page(owned, request.query_params)
        return JSONResponse(
            {"projects": [render_project(p) for p in page], "pagination": pagination}
        )

    async def list_custom_environments(request: Request) -> Response:
        # The sandbox models no custom environments; the CLI accepts an empty list.
        resolve_project(request, state)
        return JSONResponse({"accountLimit": {"total": 0}, "environments": []})

    routes: list[BaseRoute] = [
        Route("/v2/user", get_user, methods=["GET"]),
        Route("/teams/{teamId}", get_team, methods=["GET"]),
        Route("/v1/teams/{teamId}", get_team, methods=["GET"]),
        Route("/v2/teams/{teamId}", get_team, methods=["GET"]),
        Route("/v1/teams", list_teams, methods=["GET"]),
        Route("/v2/teams", list_teams, methods=["GET"]),
        Route("/projects/{idOrName}/custom-environments", list_custom_environments,
              methods=["GET"]),
        Route("/v9/projects/{idOrName}/custom-environments", list_custom_environments,
              methods=["GET"]),
    ]
    routes += [
        Route(f"/{v}/projects/{{idOrName}}", get_project, methods=["GET"])
        for v in PROJECT_VERSIONS
    ]
    routes += [
        Route(f"/{v}/projects", list_projects, methods=["GET"]) for v in LIST_PROJECT_VERSIONS
    ]
    return routes
