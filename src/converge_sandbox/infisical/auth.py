"""Who is calling: access tokens the emulator signs, and the bearer check on every route.

Identities log in (universal auth) or are handed a token (token auth) and receive a JWT
signed with the sandbox's own key; the token's record in the store carries what the
service checks on each use (revocation, TTL since issue or last renewal, number of uses).
The access-token trusted IPs are those of the identity's auth method at the time of use.

As on the service, the header is read as ``Bearer <token>`` by position (the first seven
characters are skipped, whatever they are); a token starting ``st.`` is a legacy service
token, anything else must be a JWT. The answers are the service's: no header is a 401
``Token missing``; a malformed, wrongly signed or expired JWT is a 403 ``TokenError`` with
jsonwebtoken's wording; a JWT that is not an access token counts as no token; a known but
revoked or unknown token record is a 401. Service tokens are accepted only where the
service accepts them (secrets and folders); elsewhere the answer is the service's 403
``Forbidden access to <url>``.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

import jwt
from starlette.requests import Request

from converge_sandbox.infisical.errors import forbidden, not_found, token_error, unauthorized
from converge_sandbox.infisical.state import InfisicalState, hash_secret, new_id
from converge_sandbox.infisical.trusted_ips import DEFAULT_TRUSTED_IPS, check_ip

ALGORITHM = "HS256"
TOKEN_MISSING = "Token missing"
NO_ACCESS_TOKEN = "No identity access token found"
EXPIRED = "Your token has expired. Please re-authenticate."
MALFORMED = ("The provided access token is malformed. Please use a valid token or generate a "
             "new one and try again.")


@dataclass(frozen=True)
class Actor:
    """The authenticated caller: a machine identity, or a legacy service token (then
    ``identity_id`` is the token's id and ``service_token`` its record)."""

    identity_id: str
    org_id: str
    org_role: str
    auth_method: str
    token_id: str | None
    service_token: dict[str, Any] | None = None


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
    ttl = int(config.get("accessTokenTTL", 0))
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
        "isAccessTokenRevoked": False,
        "issuedAt": now,
        "lastRenewedAt": None,
        "createdAt": state.now(),
        "updatedAt": state.now(),
    }
    state.put("access_token", record["id"], record)
    return sign_access_token(state, record, client_secret_id=client_secret_id), record


def token_lifetime(record: dict[str, Any]) -> int:
    """Seconds a freshly signed JWT for this record lives (0: no ``exp`` claim)."""
    return int(record["accessTokenPeriod"] or record["accessTokenTTL"] or 0)


def sign_access_token(state: InfisicalState, record: dict[str, Any], *,
                      client_secret_id: str | None) -> str:
    now = state.world.clock()
    claims: dict[str, Any] = {
        "identityId": record["identityId"],
        "identityAccessTokenId": record["id"],
        "authTokenType": "identityAccessToken",
        "iat": int(now),
    }
    if client_secret_id:
        claims["clientSecretId"] = client_secret_id
    lifetime = token_lifetime(record)
    if lifetime:
        claims["exp"] = int(now) + lifetime
    return jwt.encode(claims, state.signing_key(), algorithm=ALGORITHM)


def verify_jwt(state: InfisicalState, token: str) -> dict[str, Any]:
    """jsonwebtoken's ``verify`` as the service calls it: signature, then expiry; failures
    are the service's 403 ``TokenError`` with the wording its error handler gives them."""
    if not token:
        raise token_error("jwt must be provided")
    if token.count(".") != 2:
        raise token_error(MALFORMED)
    try:
        claims: dict[str, Any] = jwt.decode(token, state.signing_key(), algorithms=[ALGORITHM],
                                            options={"verify_exp": False, "verify_iat": False,
                                                     "verify_nbf": False})
    except jwt.InvalidSignatureError:
        raise token_error("invalid signature") from None
    except jwt.PyJWTError:
        raise token_error("invalid token") from None
    exp = claims.get("exp")
    if isinstance(exp, int | float) and state.world.clock() >= float(exp):
        raise token_error(EXPIRED)
    return claims


def access_token_record(state: InfisicalState, token_id: str) -> dict[str, Any] | None:
    """The token's record; one another process wrote (``converge sandbox env`` logs the
    operator in from its own process) is read from disk."""
    return state.get("access_token", token_id) or state.reload("access_token", token_id)


def check_token_lifetime(state: InfisicalState, record: dict[str, Any]) -> None:
    """The service's ``validateAccessTokenExp``, run on every use and on renewal (its
    messages speak of renewal in both cases)."""
    limit = int(record["accessTokenNumUsesLimit"])
    uses = int(record["accessTokenNumUses"])
    if limit > 0 and uses > 0 and uses >= limit:
        state.delete("access_token", record["id"])
        raise unauthorized("Unable to renew because access token number of uses limit reached")
    ttl = int(record["accessTokenTTL"] or 0)
    if ttl > 0:
        since = record.get("lastRenewedAt") or record["issuedAt"]
        if state.world.clock() > float(since) + ttl:
            state.delete("access_token", record["id"])
            raise unauthorized("Failed to renew MI access token due to TTL expiration")


def _auth_method_config(state: InfisicalState, record: dict[str, Any]) -> dict[str, Any] | None:
    kind = "ua" if record["authMethod"] == "universal-auth" else "token_auth"
    return state.get(kind, record["identityId"])


def _identity_actor(state: InfisicalState, request: Request, token: str) -> Actor | None:
    claims = verify_jwt(state, token)
    if claims.get("authTokenType") != "identityAccessToken":
        return None
    record = access_token_record(state, str(claims.get("identityAccessTokenId", "")))
    if record is None or record["isAccessTokenRevoked"]:
        raise unauthorized(NO_ACCESS_TOKEN)
    config = _auth_method_config(state, record) or {}
    check_ip(client_ip(request), config.get("accessTokenTrustedIps") or DEFAULT_TRUSTED_IPS)
    identity = state.get("identity", record["identityId"])
    if identity is None:
        raise unauthorized(NO_ACCESS_TOKEN)
    check_token_lifetime(state, record)
    record["accessTokenNumUses"] = int(record["accessTokenNumUses"]) + 1
    state.put("access_token", record["id"], record)
    return Actor(identity_id=identity["id"], org_id=identity["orgId"], org_role=identity["role"],
                 auth_method=record["authMethod"], token_id=record["id"])


def _service_token_actor(state: InfisicalState, token: str) -> Actor:
    """``st.<id>.<secret>``, checked as the service's ``fnValidateServiceToken``."""
    parts = token.split(".")
    token_id = parts[1] if len(parts) > 1 else ""
    presented = parts[2] if len(parts) > 2 else ""
    doc = state.get("service_token", token_id)
    if doc is None:
        raise not_found(f"Service token with ID '{token_id}' not found")
    project = state.get("project", doc["projectId"])
    if project is None:
        raise not_found(f"Project with ID '{doc['projectId']}' not found")
    expires = doc.get("expiresAtEpoch")
    if expires is not None and float(expires) < state.world.clock():
        state.delete("service_token", token_id)
        raise forbidden("Service token has expired")
    if not hmac.compare_digest(doc["secretHash"], hash_secret(presented)):
        raise unauthorized("Invalid service token")
    return Actor(identity_id=doc["id"], org_id=project["orgId"], org_role="no-access",
                 auth_method="service-token", token_id=None, service_token=doc)


def _url(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


ACTOR_ATTRIBUTE = "infisical_actor"


def identify(state: InfisicalState, request: Request) -> Actor | None:
    """The service's ``injectIdentity`` hook, run before every route (login included): a
    present but bad token is refused whatever the route; no header, or a JWT that is not
    an access token, is no caller (None)."""
    header = request.headers.get("authorization")
    if not header:
        return None
    token = header[7:]
    if token.startswith("st."):
        return _service_token_actor(state, token)
    return _identity_actor(state, request, token)


def authenticate(state: InfisicalState, request: Request, *,
                 service_token: bool = False) -> Actor:
    """The service's ``verifyAuth``: the caller ``identify`` found for this request, or the
    service's 401; ``service_token`` says whether the route accepts legacy service tokens
    (elsewhere they get the service's 403 ``Forbidden access to <url>``)."""
    if ACTOR_ATTRIBUTE in request.scope.get("state", {}):
        actor: Actor | None = getattr(request.state, ACTOR_ATTRIBUTE)
    else:
        actor = identify(state, request)
    if actor is None:
        raise unauthorized(TOKEN_MISSING)
    if actor.service_token is not None and not service_token:
        raise forbidden(name=f"Forbidden access to {_url(request)}")
    return actor
