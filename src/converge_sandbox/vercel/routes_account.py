"""User, team and project lookups: what every Vercel CLI command asks first.

The CLI prelude (vendor-cli-wire.md §1) is ``GET /v2/user``, ``GET /teams/{orgId}`` (no
version prefix), ``GET /v9/projects/{idOrName}?teamId=…`` and, for ``env`` commands,
``GET /projects/{id}/custom-environments``; ``--scope`` adds ``GET /v1/teams``. The
Terraform provider reads ``/v2/teams/{id}`` and ``/v10/projects/{id}``, so those
version prefixes answer too.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from converge_sandbox.vercel.errors import not_authorized, not_found
from converge_sandbox.vercel.scope import authenticate, resolve_project
from converge_sandbox.vercel.state import VercelState
from converge_sandbox.vercel.wire import render_project, render_team, render_user

PROJECT_VERSIONS = ("v8", "v9", "v10")


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
    return routes
