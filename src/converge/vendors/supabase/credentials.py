"""Which Supabase credentials can reach the Management API, told before any request.

converge reads and writes auth settings, exposed schemas and row-level security (SQL)
through Supabase's Management API (``https://api.supabase.com``), which takes a personal
access token (``sbp_…``) or an OAuth token, in ``SUPABASE_ACCESS_TOKEN``. A project's own
keys (the legacy ``anon`` and ``service_role`` JWTs, the newer ``sb_publishable_…`` and
``sb_secret_…`` keys) and its URL (``https://<ref>.supabase.co``) serve that project's
data APIs instead, and the brief's CI passes exactly those (``SUPABASE_SERVICE_KEY``,
``--supabase-url https://<ref>.supabase.co``). Sent anyway, a project URL only fails to
answer the Management API's paths (retried until "the vendor may be degraded") and a
project key is refused. Both are recognised here from their shape, without a request,
and refused at once with what the key can and cannot do (``VendorAuthError``, exit 4).

A key is never printed: messages name the variable, the kind of key and, for a JWT, the
project ref it names (a ref is not a secret; it is in the project URL).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import jwt

from converge.errors import VendorAuthError

VENDOR = "supabase"
TOKEN_VARIABLE = "SUPABASE_ACCESS_TOKEN"
URL_VARIABLE = "SUPABASE_API_URL"
SERVICE_KEY_VARIABLE = "SUPABASE_SERVICE_KEY"  # the brief's CI name for a project key
MANAGEMENT_API = "https://api.supabase.com"
_PROJECT_HOST = re.compile(r"^(?P<ref>[a-z0-9-]+)\.supabase\.(?:co|in)$")
NEEDS = (
    f"Supabase's Management API needs {TOKEN_VARIABLE} set to a personal access token "
    "(sbp_…)"
)
HINT = (
    f"create a personal access token at https://supabase.com/dashboard/account/tokens, "
    f"set it as {TOKEN_VARIABLE} (a repository secret in CI) and leave {URL_VARIABLE} "
    f"unset ({MANAGEMENT_API})"
)


@dataclass(frozen=True)
class ProjectKey:
    """What a project key is: its kind and what it can do, in words."""

    kind: str  # "service_role key (a JWT with role service_role, project abc…)"
    can: str  # "can use the project's data APIs (…)"


def project_key(token: str) -> ProjectKey | None:
    """The project key ``token`` is (None: not one, possibly a Management API token)."""
    if token.startswith("sb_secret_"):
        return ProjectKey("secret API key (sb_secret_…)",
                          "can use the project's data APIs with service_role rights")
    if token.startswith("sb_publishable_"):
        return ProjectKey("publishable key (sb_publishable_…)",
                          "can only do what the project's RLS policies allow its users")
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    role = claims.get("role") if isinstance(claims, dict) else None
    if role not in ("service_role", "anon", "authenticated"):
        return None
    ref = claims.get("ref")
    where = f", project {ref}" if isinstance(ref, str) and ref.isalnum() else ""
    can = (
        "can use the project's data APIs (REST, GraphQL, Storage, Auth admin)"
        if role == "service_role"
        else "can only do what the project's RLS policies allow its users"
    )
    return ProjectKey(f"{role} key (a JWT with role {role}{where})", can)


def project_url_ref(url: str) -> str | None:
    """The project ref when ``url`` is a project's URL (``https://<ref>.supabase.co``)."""
    host = urlsplit(url.strip()).hostname or ""
    match = _PROJECT_HOST.match(host.lower())
    return match.group("ref") if match else None


def check_management_credentials(
    env: Mapping[str, str], *, given_as: Mapping[str, str] | None = None
) -> None:
    """Refuse, before any request, a project key or a project URL where the Management
    API's token and URL go (see the module doc). ``given_as`` names where a variable's
    value came from (``{"SUPABASE_ACCESS_TOKEN": "--supabase-key"}``) for the message.
    A missing token is left to the client (it names the variable the same way)."""
    named = dict(given_as or {})

    def name(variable: str) -> str:
        return named.get(variable, variable)

    token = env.get(TOKEN_VARIABLE, "").strip()
    url = env.get(URL_VARIABLE, "").strip()
    url_ref = project_url_ref(url) if url else None
    source, key = TOKEN_VARIABLE, project_key(token) if token else None
    service = env.get(SERVICE_KEY_VARIABLE, "").strip()
    if not token and service:
        source, key = SERVICE_KEY_VARIABLE, project_key(service)
        if key is None:
            raise VendorAuthError(
                f"{TOKEN_VARIABLE} is not set, and converge does not read "
                f"{SERVICE_KEY_VARIABLE}: {NEEDS}",
                vendor=VENDOR, hint=HINT,
            )
    if key is not None:
        url_too = (
            f"; {name(URL_VARIABLE)} is that project's URL, not the Management API"
            if url_ref else ""
        )
        unused = ", which converge does not read" if source == SERVICE_KEY_VARIABLE else ""
        raise VendorAuthError(
            f"{name(source)} holds a Supabase project's {key.kind}{unused}: it {key.can} "
            f"but not the Management API, which converge uses to manage auth settings and "
            f"run SQL; {NEEDS}{url_too}",
            vendor=VENDOR, hint=HINT,
        )
    if url_ref is not None:
        raise VendorAuthError(
            f"{name(URL_VARIABLE)} is the URL of Supabase project {url_ref}, which serves "
            f"that project's data APIs, not the Management API that converge uses to manage "
            f"auth settings and run SQL; leave it unset ({MANAGEMENT_API}), and {NEEDS}",
            vendor=VENDOR, hint=HINT,
        )
