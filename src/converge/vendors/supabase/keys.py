"""Which API key is the project's *anon* key, and the check that it really is (pure).

Why a check: the anon key ends up in ``NEXT_PUBLIC_SUPABASE_ANON_KEY``, readable by every
browser. A ``service_role`` key there bypasses row-level security for the whole world,
so converge never trusts a key's name alone: a legacy key must be a JWT whose ``role``
claim is ``anon`` (and whose ``ref`` claim, when present, is the project's). Without a
legacy anon key, the project's ``publishable`` key (``sb_publishable_…``, public by
design) is used. Anything else is refused with a ConvergeError that never shows the key.
"""

from __future__ import annotations

from collections.abc import Sequence

import jwt

from converge.errors import ConvergeError
from converge.vendors.supabase.wire import ApiKey

PUBLISHABLE_PREFIX = "sb_publishable_"


def _refuse(ref: str, why: str) -> ConvergeError:
    return ConvergeError(
        f"refusing to publish the anon key of {ref}: {why}",
        hint="check the project's API keys in Supabase; converge never publishes a "
        "service_role or secret key",
    )


def _legacy_anon(keys: Sequence[ApiKey]) -> ApiKey | None:
    for key in keys:
        if key.name == "anon" and key.type in (None, "legacy"):
            return key
    return None


def _publishable(keys: Sequence[ApiKey]) -> ApiKey | None:
    for key in keys:
        if key.type == "publishable":
            return key
    return None


def needs_reveal(keys: Sequence[ApiKey]) -> bool:
    """True when the key converge would publish came back redacted."""
    chosen = _legacy_anon(keys) or _publishable(keys)
    return chosen is not None and chosen.api_key is None


def select_anon_key(keys: Sequence[ApiKey], *, ref: str) -> str:
    """The value to publish as the project's anon key, after checking what it is."""
    legacy = _legacy_anon(keys)
    if legacy is not None:
        if not legacy.api_key:
            raise _refuse(ref, "the API did not return its value")
        check_anon_jwt(legacy.api_key, ref=ref)
        return legacy.api_key
    publishable = _publishable(keys)
    if publishable is not None:
        value = publishable.api_key or ""
        if not value.startswith(PUBLISHABLE_PREFIX):
            raise _refuse(ref, "the publishable key does not look like one")
        return value
    raise _refuse(ref, "the project has neither a legacy anon key nor a publishable key")


def check_anon_jwt(token: str, *, ref: str) -> None:
    """Raise unless ``token`` is a JWT with ``role: anon`` for project ``ref``."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise _refuse(ref, "the key named anon is not a JWT") from None
    role = claims.get("role")
    if role != "anon":
        shown = role if role in ("service_role", "authenticated", "supabase_admin") else "other"
        raise _refuse(ref, f"the key named anon carries role {shown!r}, not 'anon'")
    claimed_ref = claims.get("ref")
    if claimed_ref is not None and claimed_ref != ref:
        raise _refuse(ref, "the key named anon belongs to another project")
