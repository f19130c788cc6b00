"""Universal auth: login, per-identity configuration and client secrets; access-token
renewal and revocation.

A client secret's plaintext is returned exactly once, by the create call; the store keeps
only a hash and the first four characters (``clientSecretPrefix``), which is also how the
service finds the candidate secrets at login. Login enforces revocation, the secret's TTL
and use limit, the client-secret trusted IPs and the lockout after repeated failures.
Renewal signs a new JWT for the same token record and restarts its TTL, refused past the
max TTL, with the service's messages; both take the token in the body, not the header.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from converge_sandbox.infisical.auth import (
    NO_ACCESS_TOKEN,
    access_token_record,
    check_token_lifetime,
    client_ip,
    issue_access_token,
    sign_access_token,
    token_lifetime,
    verify_jwt,
)
from converge_sandbox.infisical.auth_config import (
    MAX_TTL,
    UA_DEFAULTS,
    TokenConfigPatch,
    TrustedIpIn,
    apply_config,
    check_ttl,
    managed_identity,
    revoke_tokens,
)
from converge_sandbox.infisical.errors import bad_request, unauthorized
from converge_sandbox.infisical.routing import RouteSpec, ok
from converge_sandbox.infisical.state import InfisicalState, hash_secret, new_id
from converge_sandbox.infisical.trusted_ips import (
    DEFAULT_TRUSTED_IPS,
    check_ip,
    reshape_trusted_ips,
)
from converge_sandbox.infisical.validation import WireModel, parse_body

INVALID_CREDENTIALS = "Invalid credentials"
LOCKED = "This identity auth method is temporarily locked, please try again later"


class LoginBody(WireModel):
    clientId: str
    clientSecret: str
    organizationSlug: str | None = Field(default=None, min_length=1, max_length=64)


class UniversalAuthPatch(TokenConfigPatch):
    clientSecretTrustedIps: list[TrustedIpIn] | None = Field(default=None, min_length=1)
    lockoutEnabled: bool | None = None
    lockoutThreshold: float | None = Field(default=None, ge=1, le=30)
    lockoutDurationSeconds: float | None = Field(default=None, ge=30, le=86400)
    lockoutCounterResetSeconds: float | None = Field(default=None, ge=5, le=3600)


class ClientSecretBody(WireModel):
    description: str = ""
    numUsesLimit: float = Field(default=0, ge=0)
    ttl: float = Field(default=0, ge=0, le=MAX_TTL)


class TokenBody(WireModel):
    accessToken: str


def _ua_public(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def _client_secret_public(doc: dict[str, Any]) -> dict[str, Any]:
    """The sanitized client secret: never the hash, never the value."""
    hidden = ("secretHash", "identityId", "createdAtEpoch", "lastUsedAt")
    return {k: v for k, v in doc.items() if k not in hidden}


# -- login ----------------------------------------------------------------------------

def _register_failure(state: InfisicalState, ua: dict[str, Any]) -> None:
    if not ua.get("lockoutEnabled", True):
        return
    now = state.world.clock()
    doc = state.get("lockout", ua["clientId"]) or {"failures": [], "lockedUntil": 0}
    window = float(ua.get("lockoutCounterResetSeconds", 30))
    failures = [t for t in doc["failures"] if now - t < window] + [now]
    if len(failures) >= int(ua.get("lockoutThreshold", 3)):
        doc = {"failures": [], "lockedUntil": now + float(ua.get("lockoutDurationSeconds", 300))}
    else:
        doc["failures"] = failures
    state.put("lockout", ua["clientId"], doc)


def _matching_secret(
    state: InfisicalState, ua: dict[str, Any], presented: str
) -> dict[str, Any] | None:
    digest = hash_secret(presented)
    for doc in state.list_docs("client_secret", f"{ua['identityId']}/"):
        if doc["isClientSecretRevoked"] or doc["clientSecretPrefix"] != presented[:4]:
            continue
        if hmac.compare_digest(doc["secretHash"], digest):
            return doc
    return None


def universal_auth_login(
    state: InfisicalState, client_id: str, client_secret: str, *, ip: str,
    organization_slug: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """What ``POST /api/v1/auth/universal-auth/login`` does, for the HTTP handler and for
    the sandbox printing the operator's access token; returns (token, record)."""
    ua = state.ua_by_client_id(client_id)
    if ua is None:
        raise unauthorized(INVALID_CREDENTIALS)
    lock = state.get("lockout", ua["clientId"])
    now = state.world.clock()
    if ua.get("lockoutEnabled", True) and lock and float(lock["lockedUntil"]) > now:
        raise unauthorized(LOCKED)
    check_ip(ip, ua["clientSecretTrustedIps"] or DEFAULT_TRUSTED_IPS)
    secret = _matching_secret(state, ua, client_secret)
    if secret is None:
        _register_failure(state, ua)
        raise unauthorized(INVALID_CREDENTIALS)
    ttl = float(secret["clientSecretTTL"])
    if ttl and now > float(secret["createdAtEpoch"]) + ttl:
        raise unauthorized("Access denied due to expired client secret")
    limit = int(secret["clientSecretNumUsesLimit"])
    if limit and int(secret["clientSecretNumUses"]) >= limit:
        raise unauthorized("Access denied due to client secret usage limit reached")
    if organization_slug is not None:
        identity = state.identity(ua["identityId"])
        org = state.org_by_slug(organization_slug)
        if org is None or org["id"] != identity["orgId"]:
            raise unauthorized(INVALID_CREDENTIALS)
    secret["clientSecretNumUses"] = int(secret["clientSecretNumUses"]) + 1
    secret["lastUsedAt"] = state.now()
    state.put("client_secret", f"{ua['identityId']}/{secret['id']}", secret)
    state.delete("lockout", ua["clientId"])
    return issue_access_token(
        state, identity_id=ua["identityId"], auth_method="universal-auth", config=ua,
        client_secret_id=secret["id"],
    )


def _token_answer(token: str, record: dict[str, Any]) -> dict[str, Any]:
    return {"accessToken": token, "expiresIn": token_lifetime(record),
            "accessTokenMaxTTL": record["accessTokenMaxTTL"], "tokenType": "Bearer"}


async def login(state: InfisicalState, request: Request) -> Response:
    body = await parse_body(request, LoginBody)
    token, record = universal_auth_login(state, body.clientId, body.clientSecret,
                                         ip=client_ip(request),
                                         organization_slug=body.organizationSlug)
    return ok(_token_answer(token, record))


def _presented_record(state: InfisicalState, access_token: str, *, verb: str
                      ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The claims and live record of a token handed in a renew or revoke body."""
    claims = verify_jwt(state, access_token.strip())
    if claims.get("authTokenType") != "identityAccessToken":
        if verb == "renewed":
            raise bad_request("Only identity access tokens can be renewed")
        raise unauthorized("Only identity access tokens can be revoked")
    record = access_token_record(state, str(claims.get("identityAccessTokenId", "")))
    if record is None or record["isAccessTokenRevoked"]:
        raise unauthorized(NO_ACCESS_TOKEN)
    return claims, record


async def renew_token(state: InfisicalState, request: Request) -> Response:
    """``POST /api/v1/auth/token/renew``: a live token gets a fresh JWT and another TTL,
    within its max TTL (the service's ``renewAccessToken``)."""
    body = await parse_body(request, TokenBody)
    claims, record = _presented_record(state, body.accessToken, verb="renewed")
    check_token_lifetime(state, record)
    max_ttl = int(record["accessTokenMaxTTL"] or 0)
    if max_ttl > 0 and not int(record["accessTokenPeriod"] or 0):
        now = state.world.clock()
        ends = float(record["issuedAt"]) + max_ttl
        if now > ends:
            state.delete("access_token", record["id"])
            raise unauthorized("Failed to renew MI access token due to Max TTL expiration")
        if now + int(record["accessTokenTTL"] or 0) > ends:
            state.delete("access_token", record["id"])
            raise unauthorized("Failed to renew MI access token past its Max TTL expiration")
    record["lastRenewedAt"] = state.world.clock()
    record["updatedAt"] = state.now()
    state.put("access_token", record["id"], record)
    token = sign_access_token(state, record, client_secret_id=claims.get("clientSecretId"))
    return ok(_token_answer(token, record))


async def revoke_token(state: InfisicalState, request: Request) -> Response:
    """``POST /api/v1/auth/token/revoke`` with ``{accessToken}``."""
    body = await parse_body(request, TokenBody)
    _, record = _presented_record(state, body.accessToken, verb="revoked")
    record["isAccessTokenRevoked"] = True
    state.put("access_token", record["id"], record)
    return ok({"message": "Successfully revoked access token"})


# -- universal auth configuration ---------------------------------------------------------

async def attach_ua(state: InfisicalState, request: Request) -> Response:
    identity_id = managed_identity(state, request, "edit")
    body = await parse_body(request, UniversalAuthPatch)
    check_ttl(body)
    if state.get("ua", identity_id) is not None:
        raise bad_request("Failed to add universal auth to already configured identity")
    doc: dict[str, Any] = {
        "id": new_id(), "clientId": new_id(), "identityId": identity_id, **UA_DEFAULTS,
        "clientSecretTrustedIps": reshape_trusted_ips(DEFAULT_TRUSTED_IPS),
        "accessTokenTrustedIps": reshape_trusted_ips(DEFAULT_TRUSTED_IPS),
        "createdAt": state.now(), "updatedAt": state.now(),
    }
    apply_config(doc, body)
    state.put("ua", identity_id, doc)
    return ok({"identityUniversalAuth": _ua_public(doc)})


async def get_ua(state: InfisicalState, request: Request) -> Response:
    identity_id = managed_identity(state, request, "read")
    return ok({"identityUniversalAuth": _ua_public(state.ua(identity_id))})


async def update_ua(state: InfisicalState, request: Request) -> Response:
    identity_id = managed_identity(state, request, "edit")
    body = await parse_body(request, UniversalAuthPatch)
    check_ttl(body)
    doc = state.ua(identity_id)
    apply_config(doc, body)
    doc["updatedAt"] = state.now()
    state.put("ua", identity_id, doc)
    return ok({"identityUniversalAuth": _ua_public(doc)})


async def remove_ua(state: InfisicalState, request: Request) -> Response:
    identity_id = managed_identity(state, request, "edit")
    doc = state.ua(identity_id)
    state.delete("ua", identity_id)
    for secret in state.list_docs("client_secret", f"{identity_id}/"):
        state.delete("client_secret", f"{identity_id}/{secret['id']}")
    state.delete("lockout", doc["clientId"])
    revoke_tokens(state, identity_id, "universal-auth")
    return ok({"identityUniversalAuth": _ua_public(doc)})


# -- client secrets ------------------------------------------------------------------------

def new_client_secret(
    state: InfisicalState, identity_id: str, *, description: str = "",
    num_uses_limit: int = 0, ttl: int = 0, value: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """Mint (or, for the seeded operator, adopt) a client secret; returns (value, record)."""
    ua = state.ua(identity_id)
    plaintext = value or secrets.token_hex(32)
    doc: dict[str, Any] = {
        "id": new_id(), "identityId": identity_id, "identityUAId": ua["id"],
        "description": description, "clientSecretPrefix": plaintext[:4],
        "clientSecretNumUses": 0, "clientSecretNumUsesLimit": num_uses_limit,
        "clientSecretTTL": ttl, "isClientSecretRevoked": False,
        "secretHash": hash_secret(plaintext), "createdAtEpoch": state.world.clock(),
        "createdAt": state.now(), "updatedAt": state.now(),
    }
    state.put("client_secret", f"{identity_id}/{doc['id']}", doc)
    return plaintext, doc


async def create_client_secret(state: InfisicalState, request: Request) -> Response:
    identity_id = managed_identity(state, request, "edit")
    body = await parse_body(request, ClientSecretBody)
    plaintext, doc = new_client_secret(
        state, identity_id, description=body.description,
        num_uses_limit=int(body.numUsesLimit), ttl=int(body.ttl),
    )
    return ok({"clientSecret": plaintext, "clientSecretData": _client_secret_public(doc)})


async def list_client_secrets(state: InfisicalState, request: Request) -> Response:
    identity_id = managed_identity(state, request, "read")
    state.ua(identity_id)
    docs = state.list_docs("client_secret", f"{identity_id}/")
    return ok({"clientSecretData": [_client_secret_public(d) for d in docs]})


async def get_client_secret(state: InfisicalState, request: Request) -> Response:
    identity_id = managed_identity(state, request, "read")
    doc = state.client_secret(identity_id, request.path_params["clientSecretId"])
    return ok({"clientSecretData": _client_secret_public(doc)})


async def revoke_client_secret(state: InfisicalState, request: Request) -> Response:
    identity_id = managed_identity(state, request, "edit")
    doc = state.client_secret(identity_id, request.path_params["clientSecretId"])
    doc["isClientSecretRevoked"] = True
    doc["updatedAt"] = state.now()
    state.put("client_secret", f"{identity_id}/{doc['id']}", doc)
    return ok({"clientSecretData": _client_secret_public(doc)})


def routes() -> list[RouteSpec]:
    ua = "/api/v1/auth/universal-auth/identities/{identityId}"
    return [
        ("/api/v1/auth/universal-auth/login", ["POST"], login),
        ("/api/v1/auth/token/renew", ["POST"], renew_token),
        ("/api/v1/auth/token/revoke", ["POST"], revoke_token),
        (ua, ["POST"], attach_ua),
        (ua, ["GET"], get_ua),
        (ua, ["PATCH"], update_ua),
        (ua, ["DELETE"], remove_ua),
        (ua + "/client-secrets", ["POST"], create_client_secret),
        (ua + "/client-secrets", ["GET"], list_client_secrets),
        (ua + "/client-secrets/{clientSecretId}", ["GET"], get_client_secret),
        (ua + "/client-secrets/{clientSecretId}/revoke", ["POST"], revoke_client_secret),
    ]
