"""Who is calling: access tokens the emulator signs, and the bearer check on every route.

Identities log in (universal auth) or are handed a token (token auth) and receive a JWT
signed with the sandbox's own key. The token's record in the store carries what the
service checks on each use: revocation, the number-of-uses limit and the access-token
trusted IPs captured at login. The operator's long-lived ``world.credentials.infisical_token``
is accepted as a token-auth access token of the seeded operator identity.

The service answers a missing header with 401 and a bad or expired JWT with a 403
``TokenError``; both are reproduced here.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

import jwt
from starlette.requests import Request

from converge_sandbox.infisical.errors import token_error, unauthorized
from converge_sandbox.infisical.state import InfisicalState, hash_secret, new_id
from converge_sandbox.infisical.trusted_ips import DEFAULT_TRUSTED_IPS, check_ip

_ALGORITHM = "HS256"


@dataclass(frozen=True)
class Actor:
    """The authenticated machine identity behind a request."""

    identity_id: str
    org_id: str
    org_role: str
    auth_method: str
    token_id: str | None


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "127.0.0.1"


def issue_access_token(
    state: InfisicalState,
    *,
    identity_id: str,
    auth_method: str,
    config: dict[str, Any],
    client_secret_id: str | None = None,
    name: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """Sign a JWT for ``identity_id`` and record it; returns (token, record)."""
    now = state.world.clock()
    period = int(config.get("accessTokenPeriod") or 0)
    ttl = period or int(config.get("accessTokenTTL", 0))
    record: dict[str, Any] = {
        "id": new_id(),
        "identityId": identity_id,
        "authMethod": auth_method,
        "name": name,
        "clientSecretId": client_secret_id,
        "accessTokenTTL": ttl,
        "accessTokenMaxTTL": int(config.get("accessTokenMaxTTL", 0)),
        "accessTokenNumUses": 0,
        "accessTokenNumUsesLimit": int(config.get("accessTokenNumUsesLimit", 0)),
        "accessTokenPeriod": period,
        "accessTokenTrustedIps": config.get("accessTokenTrustedIps") or [],
        "isAccessTokenRevoked": False,
        "issuedAt": now,
        "expiresAt": now + ttl if ttl else None,
        "createdAt": state.now(),
        "updatedAt": state.now(),
    }
    state.put("access_token", record["id"], record)
    claims: dict[str, Any] = {
        "identityId": identity_id,
        "identityAccessTokenId": record["id"],
        "authTokenType": "identityAccessToken",
        "iat": int(now),
    }
    if client_secret_id:
        claims["clientSecretId"] = client_secret_id
    if record["expiresAt"] is not None:
        claims["exp"] = int(record["expiresAt"])
    token = jwt.encode(claims, state.signing_key(), algorithm=_ALGORITHM)
    return token, record


def _static_actor(state: InfisicalState, token: str) -> Actor | None:
    """The operator's configured token, compared in constant time."""
    expected = state.world.credentials.infisical_token
    if not hmac.compare_digest(token.encode(), expected.encode()):
        doc = state.get("static_token", hash_secret(token))
        if doc is None:
            return None
        identity_id = str(doc["identityId"])
    else:
        operator = state.operator_identity_id()
        if operator is None:
            return None
        identity_id = operator
    identity = state.get("identity", identity_id)
    if identity is None:
        return None
    return Actor(identity_id=identity_id, org_id=identity["orgId"], org_role=identity["role"],
                 auth_method="token-auth", token_id=None)


def authenticate(state: InfisicalState, request: Request) -> Actor:
    """Resolve the bearer token to an ``Actor`` or raise the service's 401/403."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise unauthorized("Missing Authorization Header in the request header.")
    static = _static_actor(state, token)
    if static is not None:
        return static
    try:
        claims = jwt.decode(token, state.signing_key(), algorithms=[_ALGORITHM],
                            options={"verify_exp": False})
    except jwt.PyJWTError:
        raise token_error("Invalid token") from None
    if claims.get("authTokenType") != "identityAccessToken":
        raise token_error("Invalid token")
    exp = claims.get("exp")
    if exp is not None and state.world.clock() >= float(exp):
        raise token_error("Your token has expired. Please re-authenticate.")
    record = state.get("access_token", str(claims.get("identityAccessTokenId", "")))
    if record is None or record["isAccessTokenRevoked"]:
        raise unauthorized("Failed to authorize identity access token")
    limit = int(record["accessTokenNumUsesLimit"])
    if limit and int(record["accessTokenNumUses"]) >= limit:
        raise unauthorized("Unable to authorize identity access token: usage limit reached")
    check_ip(client_ip(request), record["accessTokenTrustedIps"] or DEFAULT_TRUSTED_IPS)
    identity = state.get("identity", record["identityId"])
    if identity is None:
        raise unauthorized("Failed to authorize identity access token")
    if limit:
        record["accessTokenNumUses"] = int(record["accessTokenNumUses"]) + 1
        state.put("access_token", record["id"], record)
    return Actor(identity_id=identity["id"], org_id=identity["orgId"], org_role=identity["role"],
                 auth_method=record["authMethod"], token_id=record["id"])
