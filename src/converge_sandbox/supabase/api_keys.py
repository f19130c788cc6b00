"""Project API keys: legacy anon/service_role JWTs and the newer publishable/secret keys.

Why real JWTs: converge publishes a project's anon key to Vercel and clients decode it, so
the sandbox mints HS256 tokens signed with the project's JWT secret and carrying the claims
the vendor's legacy keys carry (``iss`` "supabase", ``ref``, ``role``, ``iat``, ``exp``).
The reveal rule is the vendor's: without ``reveal=true``, ``secret`` keys come back with
``api_key: null`` (their ``prefix`` stays visible); legacy and publishable keys come back
in full.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

import jwt

from converge_sandbox.supabase.errors import bad_request

ApiKey = dict[str, Any]

LEGACY_ROLES = ("anon", "service_role")
_LEGACY_LIFETIME_S = 10 * 365 * 24 * 3600  # legacy keys are long-lived
_NAME = re.compile(r"^[a-z_][a-z0-9_]+$")
_KEY_NAMESPACE = uuid.UUID("0b6c1c3e-8f4f-4d0e-9a53-5f0d2c7a1e42")


def iso_time(epoch: float) -> str:
    """An ISO 8601 UTC timestamp as the vendor writes them."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )


def mint_legacy_jwt(*, ref: str, role: str, jwt_secret: str, issued_at: int) -> str:
    """A legacy API key: an HS256 JWT of the project with the vendor's claims."""
    claims = {
        "iss": "supabase",
        "ref": ref,
        "role": role,
        "iat": issued_at,
        "exp": issued_at + _LEGACY_LIFETIME_S,
    }
    return jwt.encode(claims, jwt_secret, algorithm="HS256")


def default_keys(*, ref: str, jwt_secret: str, now: float) -> list[ApiKey]:
    """The keys a new project has: legacy anon and service_role, one publishable and one
    secret key named ``default``. Ids are stable per ref, so re-seeding keeps them."""
    issued_at = int(now)
    keys = [
        _key_doc(
            key_id=str(uuid.uuid5(_KEY_NAMESPACE, f"{ref}/{role}")), name=role, kind="legacy",
            api_key=mint_legacy_jwt(ref=ref, role=role, jwt_secret=jwt_secret,
                                    issued_at=issued_at),
            now=now,
        )
        for role in LEGACY_ROLES
    ]
    for kind in ("publishable", "secret"):
        keys.append(new_key(name="default", kind=kind, description=None, template=None, now=now,
                            key_id=str(uuid.uuid5(_KEY_NAMESPACE, f"{ref}/default/{kind}"))))
    return keys


def new_key(
    *, name: str, kind: str, description: str | None, template: dict[str, Any] | None,
    now: float, key_id: str | None = None,
) -> ApiKey:
    """A new publishable or secret key document (validated by ``parse_create_body``)."""
    api_key = f"sb_{kind}_" + secrets.token_urlsafe(24).replace("-", "x").replace("_", "y")
    if kind == "secret" and template is None:
        template = {"role": "service_role"}
    return _key_doc(key_id=key_id or str(uuid.uuid4()), name=name, kind=kind, api_key=api_key,
                    now=now, description=description, template=template)


def _key_doc(
    *, key_id: str, name: str, kind: str, api_key: str, now: float,
    description: str | None = None, template: dict[str, Any] | None = None,
) -> ApiKey:
    secret = kind == "secret"
    return {
        "id": key_id,
        "name": name,
        "type": kind,
        "api_key": api_key,
        "prefix": api_key[:15] if secret else None,
        "description": description,
        "hash": hashlib.sha256(api_key.encode()).hexdigest() if secret else None,
        "secret_jwt_template": template if secret else None,
        "inserted_at": iso_time(now),
        "updated_at": iso_time(now),
    }


def render_key(key: ApiKey, *, reveal: bool) -> ApiKey:
    """The ``ApiKeyResponse`` body: secret keys are redacted unless revealed."""
    body = dict(key)
    if key["type"] == "secret" and not reveal:
        body["api_key"] = None
    return body


def parse_create_body(body: object) -> tuple[str, str, str | None, dict[str, Any] | None]:
    """(name, type, description, secret_jwt_template) of a ``CreateApiKeyBody``."""
    if not isinstance(body, dict):
        raise bad_request("Expected object")
    kind = body.get("type")
    if kind not in ("publishable", "secret"):
        raise bad_request(
            f"type: Invalid enum value. Expected 'publishable' | 'secret', received '{kind}'"
        )
    name = check_name(body.get("name"))
    description = body.get("description")
    template = body.get("secret_jwt_template")
    if description is not None and not isinstance(description, str):
        raise bad_request("description: Expected string")
    if template is not None and not isinstance(template, dict):
        raise bad_request("secret_jwt_template: Expected object")
    return name, kind, description, template


def check_name(name: object) -> str:
    """A key name as the vendor accepts it: 4 to 64 chars of ``^[a-z_][a-z0-9_]+$``."""
    if not isinstance(name, str):
        raise bad_request("name: Required")
    if not 4 <= len(name) <= 64 or not _NAME.match(name):
        raise bad_request("name: Invalid")
    return name


def is_true(flag: str | None) -> bool:
    """The vendor's boolean query strings (``reveal=true``)."""
    return (flag or "").lower() == "true"
