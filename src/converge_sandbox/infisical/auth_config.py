"""What universal auth and token auth share: token settings, their checks, and the
guard on routes that configure another identity's auth methods.

Both methods carry the same access-token settings (TTL, max TTL, use limit, period,
trusted IPs). Defaults apply when a method is attached; PATCH applies none. A TTL above the
max TTL in one body is a zod refinement (422); the same conflict after merging with stored
values is the service's 400.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from starlette.requests import Request

from converge_sandbox.infisical.access import require_org_permission
from converge_sandbox.infisical.auth import authenticate
from converge_sandbox.infisical.errors import bad_request, not_found, validation_failure
from converge_sandbox.infisical.state import InfisicalState
from converge_sandbox.infisical.trusted_ips import reshape_trusted_ips
from converge_sandbox.infisical.validation import WireModel

MAX_TTL = 315360000


class TrustedIpIn(WireModel):
    ipAddress: str = Field(min_length=1)


class TokenConfigPatch(WireModel):
    """Fields token auth and universal auth share; PATCH applies no defaults."""

    accessTokenTrustedIps: list[TrustedIpIn] | None = Field(default=None, min_length=1)
    accessTokenTTL: int | None = Field(default=None, ge=0, le=MAX_TTL)
    accessTokenMaxTTL: int | None = Field(default=None, ge=0, le=MAX_TTL)
    accessTokenNumUsesLimit: int | None = Field(default=None, ge=0)
    accessTokenPeriod: int | None = Field(default=None, ge=0)


UA_DEFAULTS: dict[str, Any] = {
    "accessTokenTTL": 2592000,
    "accessTokenMaxTTL": 2592000,
    "accessTokenNumUsesLimit": 0,
    "accessTokenPeriod": 0,
    "lockoutEnabled": True,
    "lockoutThreshold": 3,
    "lockoutDurationSeconds": 300,
    "lockoutCounterResetSeconds": 30,
}
TOKEN_AUTH_FIELDS = ("accessTokenTTL", "accessTokenMaxTTL", "accessTokenNumUsesLimit",
                      "accessTokenPeriod")


def check_ttl(body: TokenConfigPatch) -> None:
    """zod's refinement: a TTL above the max TTL is a 422 on the body alone."""
    ttl, max_ttl = body.accessTokenTTL, body.accessTokenMaxTTL
    if ttl is not None and max_ttl is not None and max_ttl and ttl > max_ttl:
        raise validation_failure([{
            "code": "custom", "path": ["accessTokenTTL"],
            "message": "Access Token TTL cannot be greater than Access Token Max TTL.",
        }])


def apply_config(doc: dict[str, Any], body: TokenConfigPatch) -> None:
    """Merge the given fields into a stored config, reshaping trusted IPs."""
    for name, value in body.model_dump(exclude_none=True).items():
        if name.endswith("TrustedIps"):
            doc[name] = reshape_trusted_ips(value)
        else:
            doc[name] = int(value) if isinstance(value, float) and value.is_integer() else value
    if doc.get("accessTokenMaxTTL") and doc["accessTokenTTL"] > doc["accessTokenMaxTTL"]:
        raise bad_request("Access token TTL cannot be greater than max TTL")


def managed_identity(state: InfisicalState, request: Request, action: str) -> str:
    """Authenticate, check the org permission, and return the path's identity id (404 if it
    is not in the caller's organisation)."""
    actor = authenticate(state, request)
    require_org_permission(actor, action, "identity")
    identity_id = str(request.path_params["identityId"])
    identity = state.identity(identity_id)
    if identity["orgId"] != actor.org_id:
        raise not_found(f"Failed to find identity with ID {identity_id}")
    return identity_id


def revoke_tokens(state: InfisicalState, identity_id: str, auth_method: str | None) -> None:
    """Revoke every token the identity holds through ``auth_method`` (None: all of them)."""
    for record in state.find("access_token", lambda t: t["identityId"] == identity_id
                             and auth_method in (None, t["authMethod"])):
        record["isAccessTokenRevoked"] = True
        state.put("access_token", record["id"], record)
