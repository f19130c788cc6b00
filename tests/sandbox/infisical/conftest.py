"""Fixtures for the Infisical emulator tests: a seeded in-memory world, its app, and an
in-process client logged in as the operator."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette

from converge_sandbox.infisical.app import create_app
from converge_sandbox.infisical.seed import org_id, project_id_by_slug, seed
from converge_sandbox.world import SandboxWorld
from tests.sandbox.infisical.helpers import Api


@pytest.fixture
def world() -> SandboxWorld:
    sandbox = SandboxWorld.in_memory()
    seed(sandbox)
    return sandbox


@pytest.fixture
def app(world: SandboxWorld) -> Starlette:
    return create_app(world)


@pytest.fixture
def api(app: Starlette, world: SandboxWorld) -> Api:
    """A client authenticated as the operator through a universal-auth login."""
    client = Api(app)
    client.token = client.login(world.credentials.infisical_client_id,
                                world.credentials.infisical_client_secret)
    return client


@pytest.fixture
def org(world: SandboxWorld) -> str:
    return org_id(world)


@pytest.fixture
def journal(world: SandboxWorld) -> str:
    return project_id_by_slug(world, "journal")
