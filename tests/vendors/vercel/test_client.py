"""VercelClient: credentials, team scoping, pagination and per-action rate budgets."""

from __future__ import annotations

import httpx
import pytest

from converge.errors import VendorAuthError, VendorError
from converge.vendors.http import RequestCounter
from converge.vendors.vercel.client import RATE_LIMITS, ProjectScope, VercelClient
from converge_sandbox.vercel import seed as vercel_seed
from converge_sandbox.vercel.app import create_app
from converge_sandbox.world import SandboxWorld
from tests.support.asgi import InProcessTransport


def client_for(world: SandboxWorld, transport: httpx.BaseTransport | None = None
               ) -> VercelClient:
    return VercelClient.from_environment(
        {"VERCEL_TOKEN": world.credentials.vercel_token, "VERCEL_API_URL": "http://v.test"},
        counter=RequestCounter(),
        transport=transport or InProcessTransport(create_app(world)),
    )


def test_missing_token_is_refused_naming_vercel_token() -> None:
    with pytest.raises(VendorAuthError) as caught:
        VercelClient.from_environment({}, counter=RequestCounter())
    assert caught.value.exit_code == 4 and "VERCEL_TOKEN" in str(caught.value)


def test_every_request_is_team_scoped_and_the_project_is_found_by_name(
    world: SandboxWorld,
) -> None:
    seen: list[httpx.Request] = []
    inner = InProcessTransport(create_app(world))

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return inner.handle_request(request)

    client = client_for(world, httpx.MockTransport(record))
    scope = ProjectScope("acme", "journal-web")

    assert client.project_id(scope) == vercel_seed.project_id("journal-web")
    assert client.list_env(ProjectScope("acme", client.project_id(scope))) == []
    assert len(seen) == 2  # the id is cached
    assert all(r.url.params.get("slug") == "acme" for r in seen)
    assert ProjectScope("team_x", "p").params() == {"teamId": "team_x"}


def test_a_team_project_without_team_scope_is_reported_as_missing_not_as_auth(
    world: SandboxWorld,
) -> None:
    with pytest.raises(VendorError) as caught:
        client_for(world).list_env(ProjectScope(None, "journal-web"))
    assert not isinstance(caught.value, VendorAuthError)
    assert caught.value.status == 404 and "journal-web" in str(caught.value)


def test_a_team_the_token_cannot_act_on_is_a_vendor_error_naming_the_team(
    world: SandboxWorld,
) -> None:
    with pytest.raises(VendorError) as caught:
        client_for(world).list_env(ProjectScope("someone-else", "journal-web"))
    assert not isinstance(caught.value, VendorAuthError)
    assert caught.value.status == 403 and "someone-else" in caught.value.hint


def test_list_follows_pagination_until_next_is_null(world: SandboxWorld) -> None:
    pages = {
        None: {"envs": [{"id": "a", "key": "A", "type": "plain", "value": "1",
                         "target": "production"}],
               "pagination": {"count": 1, "next": 1700, "prev": None}},
        "1700": {"envs": [{"id": "b", "key": "B", "type": "plain", "value": "2",
                           "target": ["preview"]}],
                 "pagination": {"count": 1, "next": None, "prev": None}},
    }

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=pages[request.url.params.get("until")])

    envs = client_for(world, httpx.MockTransport(answer)).list_env(ProjectScope("acme", "p"))

    assert [(e.key, e.target) for e in envs] == [("A", ["production"]), ("B", ["preview"])]


def test_each_action_draws_on_its_documented_budget(world: SandboxWorld) -> None:
    client = client_for(world)
    scope = ProjectScope("acme", "journal-web")
    assert {a: b.limit for a, b in client.budgets.items()} == RATE_LIMITS
    assert RATE_LIMITS == {"get": 500, "create": 120, "update": 120, "delete": 60}

    client.delete_env(scope, "missing")

    assert client.budgets["delete"].tokens < 60
    assert client.budgets["create"].tokens == 120


def test_a_list_that_hides_production_variables_is_refused(world: SandboxWorld) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"envs": [], "hiddenProductionEnvCount": 3})

    with pytest.raises(VendorError) as caught:
        client_for(world, httpx.MockTransport(answer)).list_env(ProjectScope("acme", "p"))
    assert "3 production" in str(caught.value)


def test_a_malformed_list_body_is_a_vendor_error_that_does_not_echo_it(
    world: SandboxWorld,
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"envs": [{"key": "K", "value": "s3cr3t-value"}]})

    with pytest.raises(VendorError) as caught:
        client_for(world, httpx.MockTransport(answer)).list_env(ProjectScope("acme", "p"))
    assert "s3cr3t-value" not in str(caught.value) + caught.value.hint
    assert caught.value.request == "GET /v10/projects/p/env"
