"""Who is calling, and on behalf of which account.

Auth: ``Authorization: Bearer <world.credentials.vercel_token>``. Any other header gets
Vercel's 403 ``forbidden`` body with ``missingToken`` or ``invalidToken`` set, the two
flags the Vercel CLI turns into its "invalid token" message. The token is compared in
constant time and never echoed.

Scope: ``?teamId=team_…`` or ``?slug=<team slug>`` selects a team; with neither the
request acts on the token's personal account (vercel-api.md §0). The sandbox user owns
no projects of its own, so a team project looked up without ``teamId`` is 404, which is
what a client that forgets team scoping meets on Vercel too. A team the user is not a
member of (or that does not exist) is 403 ``forbidden``.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from starlette.requests import Request

from converge_sandbox.vercel.errors import (
    invalid_token,
    missing_token,
    not_authorized,
    project_not_found,
)
from converge_sandbox.vercel.models import ProjectRecord, TeamRecord, UserRecord
from converge_sandbox.vercel.state import VercelState


@dataclass(frozen=True)
class Caller:
    """The authenticated user and the account the request acts on."""

    user: UserRecord
    team: TeamRecord | None

    @property
    def account_id(self) -> str:
        return self.team.id if self.team is not None else self.user.id


def authenticate(request: Request, state: VercelState) -> UserRecord:
    """The user behind the bearer token, or raise Vercel's 403."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header or scheme.lower() != "bearer" or not token.strip():
        raise missing_token()
    expected = state.world.credentials.vercel_token
    if not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise invalid_token()
    user = state.token_user()
    if user is None:
        # An unseeded world: the token is right but no account exists behind it.
        raise invalid_token()
    return user


def resolve_caller(request: Request, state: VercelState) -> Caller:
    """Authenticate, then apply ``teamId`` / ``slug`` (``teamId`` wins when both are set)."""
    user = authenticate(request, state)
    team_id = request.query_params.get("teamId")
    slug = request.query_params.get("slug")
    team: TeamRecord | None = None
    if team_id:
        team = state.team(team_id)
    elif slug:
        team = state.team_by_slug(slug)
    else:
        return Caller(user=user, team=None)
    if team is None or user.id not in team.members:
        raise not_authorized()
    return Caller(user=user, team=team)


def resolve_project(request: Request, state: VercelState) -> tuple[Caller, ProjectRecord]:
    """The caller and the project named by the ``idOrName`` path parameter, in scope."""
    caller = resolve_caller(request, state)
    id_or_name = str(request.path_params["idOrName"])
    project = state.project_in_account(id_or_name, caller.account_id)
    if project is None:
        raise project_not_found()
    return caller, project
