"""Token auth: attach it to an identity and mint long-lived access tokens from it.

The minted token is an ordinary access token (see ``auth.py``); unlike universal auth
there is no login call, which is also how the Terraform provider uses it.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from converge_sandbox.infisical.auth import issue_access_token, token_lifetime
from converge_sandbox.infisical.auth_config import (
    TOKEN_AUTH_FIELDS,
    UA_DEFAULTS,
    TokenConfigPatch,
    apply_config,
    check_ttl,
    managed_identity,
    revoke_tokens,
)
from converge_sandbox.infisical.errors import bad_request, not_found
from converge_sandbox.infisical.routing import RouteSpec, ok
from converge_sandbox.infisical.state import InfisicalState, new_id
from converge_sandbox.infisical.trusted_ips import DEFAULT_TRUSTED_IPS, reshape_trusted_ips
from converge_sandbox.infisical.validation import WireModel, parse_body


class TokenBody(WireModel):
    name: str | None = None


def _token_auth(state: InfisicalState, identity_id: str) -> dict[str, Any]:
    doc = state.get("token_auth", identity_id)
    if doc is None:
        raise not_found("Failed to find token auth")
    return doc


async def attach_token_auth(state: InfisicalState, request: Request) -> Response:
    identity_id = managed_identity(state, request, "edit")
    body = await parse_body(request, TokenConfigPatch)
    check_ttl(body)
    if state.get("token_auth", identity_id) is not None:
        raise bad_request("Failed to add token auth to already configured identity")
    doc: dict[str, Any] = {
        "id": new_id(), "identityId": identity_id,
        **{k: UA_DEFAULTS[k] for k in TOKEN_AUTH_FIELDS},
        "accessTokenTrustedIps": reshape_trusted_ips(DEFAULT_TRUSTED_IPS),
        "createdAt": state.now(), "updatedAt": state.now(),
    }
    apply_config(doc, body)
    state.put("token_auth", identity_id, doc)
    return ok({"identityTokenAuth": doc})


async def get_token_auth(state: InfisicalState, request: Request) -> Response:
    identity_id = managed_identity(state, request, "read")
    return ok({"identityTokenAuth": _token_auth(state, identity_id)})


async def update_token_auth(state: InfisicalState, request: Request) -> Response:
    identity_id = managed_identity(state, request, "edit")
    body = await parse_body(request, TokenConfigPatch)
    check_ttl(body)
    doc = _token_auth(state, identity_id)
    apply_config(doc, body)
    doc["updatedAt"] = state.now()
    state.put("token_auth", identity_id, doc)
    return ok({"identityTokenAuth": doc})


async def remove_token_auth(state: InfisicalState, request: Request) -> Response:
    identity_id = managed_identity(state, request, "edit")
    doc = _token_auth(state, identity_id)
    state.delete("token_auth", identity_id)
    revoke_tokens(state, identity_id, "token-auth")
    return ok({"identityTokenAuth": doc})


async def create_token(state: InfisicalState, request: Request) -> Response:
    identity_id = managed_identity(state, request, "edit")
    body = await parse_body(request, TokenBody)
    config = _token_auth(state, identity_id)
    token, record = issue_access_token(state, identity_id=identity_id, auth_method="token-auth",
                                       config=config, name=body.name)
    token_data = {k: v for k, v in record.items()
                  if k not in ("issuedAt", "lastRenewedAt", "clientSecretId")}
    return ok({"accessToken": token, "tokenType": "Bearer", "expiresIn": token_lifetime(record),
               "accessTokenMaxTTL": record["accessTokenMaxTTL"], "tokenData": token_data})


def routes() -> list[RouteSpec]:
    base = "/api/v1/auth/token-auth/identities/{identityId}"
    return [
        (base, ["POST"], attach_token_auth),
        (base, ["GET"], get_token_auth),
        (base, ["PATCH"], update_token_auth),
        (base, ["DELETE"], remove_token_auth),
        (base + "/tokens", ["POST"], create_token),
    ]
