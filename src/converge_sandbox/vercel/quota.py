"""Whose rate-limit quota a Vercel request spends.

Vercel's limits are per action and per *owner*, the team or user a request acts for
(vercel-api.md §6, scope ``owner``). So the owner is the team named by ``teamId`` or
``slug`` when the token's user belongs to it, and otherwise the user. A request whose
token Vercel refuses acts for nobody: it is answered 403 and spends no one's quota, so a
stranger with a wrong token cannot exhaust a team's limits.

The sandbox middleware calls ``quota_owner(world)(scope)`` before the emulator runs; the
checks are the ones ``scope.authenticate`` and ``scope.resolve_caller`` make, without
raising.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

from starlette.requests import Request

from converge_sandbox.vercel.errors import VercelApiError
from converge_sandbox.vercel.scope import authenticate
from converge_sandbox.vercel.state import VercelState
from converge_sandbox.world import SandboxWorld

Scope = MutableMapping[str, Any]


def charged_account(request: Request, state: VercelState) -> str | None:
    """The team or user id whose quota ``request`` spends; None for a refused token."""
    try:
        user = authenticate(request, state)
    except VercelApiError:
        return None
    team_id = request.query_params.get("teamId")
    slug = request.query_params.get("slug")
    team = state.team(team_id) if team_id else state.team_by_slug(slug) if slug else None
    if team is not None and user.id in team.members:
        return team.id
    return user.id


def quota_owner(world: SandboxWorld) -> Callable[[Scope], str | None]:
    """The middleware hook: the account an ASGI request scope is charged to."""
    state = VercelState(world)

    def owner(scope: Scope) -> str | None:
        return charged_account(Request(scope), state)

    return owner
