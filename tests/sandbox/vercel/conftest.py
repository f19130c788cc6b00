"""Fixtures for the Vercel emulator tests: a seeded in-memory world and an in-process
client that drives the app through ``httpx.ASGITransport``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from converge_sandbox.vercel import seed as vercel_seed
from converge_sandbox.vercel.app import create_app
from converge_sandbox.vercel.models import VENDOR
from converge_sandbox.world import SandboxWorld
from tests.support.asgi import InProcessTransport, RequestVerbs


@pytest.fixture
def world() -> SandboxWorld:
    w = SandboxWorld.in_memory()
    vercel_seed.seed(w)
    return w


@dataclass
class Api(RequestVerbs):
    """A synchronous face over the ASGI app: ``api.get(path, params=...)`` and friends.

    Team scoping is added unless ``team=False``; the token unless ``token=`` overrides it.
    """

    world: SandboxWorld

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        team: bool = True,
        token: str | None = None,
    ) -> httpx.Response:
        app = create_app(self.world)
        query = dict(params or {})
        if team:
            query.setdefault("teamId", vercel_seed.team_id())
        bearer = self.world.credentials.vercel_token if token is None else token
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        with httpx.Client(transport=InProcessTransport(app), base_url="http://vercel") as c:
            return c.request(method, path, json=json, params=query, headers=headers)


@pytest.fixture
def api(world: SandboxWorld) -> Api:
    return Api(world)


def stored_envs(world: SandboxWorld, project: str) -> list[dict[str, Any]]:
    """The env documents the emulator holds for a seeded project (end state)."""
    return world.store.list(VENDOR, "env", prefix=vercel_seed.project_id(project) + "/")


@pytest.fixture
def journal_id() -> Iterator[str]:
    yield vercel_seed.project_id("journal-web")
