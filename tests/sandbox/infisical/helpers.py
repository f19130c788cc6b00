"""Test helpers for the Infisical emulator: an in-process client driving the app through
``httpx.ASGITransport`` (no sockets), and shortcuts that mint identities and grants through
the API the way converge will."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette

from tests.support.asgi import InProcessTransport, RequestVerbs


@dataclass
class Api(RequestVerbs):
    """A synchronous in-process client; ``token`` is sent as the bearer if set."""

    app: Starlette
    token: str | None = None
    client_ip: str = "127.0.0.1"
    headers: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, *, json: Any = None,
                params: dict[str, Any] | None = None, token: str | None = None,
                content: bytes | None = None) -> httpx.Response:
        headers = dict(self.headers)
        bearer = token if token is not None else self.token
        if bearer:
            headers["authorization"] = f"Bearer {bearer}"
        transport = InProcessTransport(self.app, client=(self.client_ip, 40000))
        with httpx.Client(transport=transport, base_url="http://infisical.test") as client:
            return client.request(method, path, json=json, params=params, headers=headers,
                                  content=content)

    def login(self, client_id: str, client_secret: str) -> str:
        response = self.post("/api/v1/auth/universal-auth/login",
                             json={"clientId": client_id, "clientSecret": client_secret})
        assert response.status_code == 200, response.text
        token: str = response.json()["accessToken"]
        return token



def mint_identity(api: Api, org: str, name: str, **extra: Any) -> tuple[str, str, str]:
    """Create an identity with universal auth and one client secret through the API;
    returns (identity id, client id, client secret)."""
    created = api.post("/api/v1/identities", json={"name": name, "organizationId": org, **extra})
    assert created.status_code == 200, created.text
    identity_id: str = created.json()["identity"]["id"]
    attached = api.post(f"/api/v1/auth/universal-auth/identities/{identity_id}", json={})
    assert attached.status_code == 200, attached.text
    secret = api.post(f"/api/v1/auth/universal-auth/identities/{identity_id}/client-secrets",
                      json={"description": "test"})
    assert secret.status_code == 200, secret.text
    return (identity_id, attached.json()["identityUniversalAuth"]["clientId"],
            secret.json()["clientSecret"])


def grant_runtime_reader(api: Api, project_id: str, identity_id: str,
                         slug: str = "runtime-reader") -> None:
    """A custom role that may read prod secrets under /runtime/**, bound to the identity."""
    role = api.post(f"/api/v1/projects/{project_id}/roles", json={
        "slug": slug, "name": "Runtime reader", "description": "managed-by: converge",
        "permissions": [{"subject": "secrets", "action": ["describeSecret", "readValue"],
                         "conditions": {"environment": "prod",
                                        "secretPath": {"$glob": "/runtime/**"}}}],
    })
    assert role.status_code == 200, role.text
    member = api.post(f"/api/v1/projects/{project_id}/identity-memberships/{identity_id}",
                      json={"roles": [{"role": slug}]})
    assert member.status_code == 200, member.text
