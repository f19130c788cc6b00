"""converge's auth settings → the Management API's field names, and how values compare.

Why: ``supabase-config.json`` speaks converge's vocabulary (``uri_allow_list`` as a list,
``mfa: {totp, phone}``, ``providers: {github: {enabled, client_id, secret}}``) while
``PATCH /config/auth`` takes flat fields (supabase-api.md §1a, §7). Both the diff and the
apply use this one translation, and both compare through ``same_value`` so that what the
API reshapes (``null`` for an unset flag, spaces in a comma list) never shows as a change.

A ``None`` in the desired settings means "not managed": the field is left as it is.
Secrets are references (``{ref, rotate}``), never values: they are resolved at apply time
and compared through the HMAC the vendor shows (``external_<p>_secret`` and friends).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from converge.errors import ConvergeError
from converge.vendors.http import comma_list

# OAuth providers the auth config knows (supabase-api.md §1a).
PROVIDERS = frozenset({
    "apple", "azure", "bitbucket", "discord", "facebook", "figma", "github", "gitlab",
    "google", "kakao", "keycloak", "linkedin_oidc", "notion", "slack", "slack_oidc",
    "spotify", "twitch", "twitter", "x", "workos", "zoom",
})
_PROVIDER_PLAIN = {
    "enabled": "enabled", "client_id": "client_id", "url": "url",
    "email_optional": "email_optional", "skip_nonce_check": "skip_nonce_check",
    "additional_client_ids": "additional_client_ids",
}
_DIRECT = ("site_url", "jwt_exp", "disable_signup", "mailer_autoconfirm", "password_min_length")
_COMMA_LISTS = frozenset({"uri_allow_list", "external_apple_additional_client_ids",
                          "external_google_additional_client_ids"})
_BOOLEAN_SUFFIXES = ("_enabled", "_optional", "_check")
_BOOLEANS = frozenset({"disable_signup", "mailer_autoconfirm"})


@dataclass(frozen=True)
class SecretSetting:
    """A write-only auth field whose value comes from a reference."""

    field: str
    reference: str
    rotate: int


@dataclass(frozen=True)
class AuthSettings:
    """The desired auth config in API terms: plain ``values`` and ``secrets`` by field."""

    values: Mapping[str, Any]
    secrets: Mapping[str, SecretSetting]


def _fail(what: str) -> ConvergeError:
    return ConvergeError(
        f"supabase auth setting {what} is not supported",
        hint="fix the auth block of the project's supabase settings and render again",
    )


def _comma(value: Any, what: str) -> str:
    """A list the API stores comma-separated; an entry with a comma is refused, not sent
    (it would come back as two entries: one more redirect URL than the workspace says)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return comma_list(value, field=what)
    raise _fail(f"{what} (expected a list of strings)")


def translate_auth(auth: Mapping[str, Any]) -> AuthSettings:
    """The API fields for converge's ``auth`` block (raises ConvergeError on unknown keys)."""
    values: dict[str, Any] = {}
    secrets: dict[str, SecretSetting] = {}
    for key, value in auth.items():
        if value is None:
            continue
        if key in _DIRECT:
            values[key] = value
        elif key == "uri_allow_list":
            values[key] = _comma(value, key)
        elif key == "mfa":
            if not isinstance(value, Mapping):
                raise _fail("mfa (expected {totp, phone})")
            for factor, enabled in value.items():
                if factor not in ("totp", "phone", "web_authn"):
                    raise _fail(f"mfa.{factor}")
                if enabled is None:
                    continue
                values[f"mfa_{factor}_enroll_enabled"] = bool(enabled)
                values[f"mfa_{factor}_verify_enabled"] = bool(enabled)
        elif key == "providers":
            if not isinstance(value, Mapping):
                raise _fail("providers (expected a mapping)")
            for provider, spec in value.items():
                _translate_provider(provider, spec, values, secrets)
        else:
            raise _fail(key)
    return AuthSettings(values=values, secrets=secrets)


def _translate_provider(
    provider: str, spec: Any, values: dict[str, Any], secrets: dict[str, SecretSetting]
) -> None:
    if provider not in PROVIDERS:
        raise _fail(f"providers.{provider}")
    if not isinstance(spec, Mapping):
        raise _fail(f"providers.{provider} (expected a mapping)")
    prefix = f"external_{provider}_"
    for name, value in spec.items():
        if value is None:
            continue
        if name == "secret":
            if not (isinstance(value, Mapping) and isinstance(value.get("ref"), str)):
                raise _fail(f"providers.{provider}.secret (expected a reference)")
            secrets[prefix + "secret"] = SecretSetting(
                prefix + "secret", str(value["ref"]), int(value.get("rotate") or 0)
            )
        elif name in _PROVIDER_PLAIN:
            field = prefix + _PROVIDER_PLAIN[name]
            values[field] = _comma(value, field) if field in _COMMA_LISTS else value
        else:
            raise _fail(f"providers.{provider}.{name}")


def _is_boolean(field: str) -> bool:
    return field in _BOOLEANS or field.endswith(_BOOLEAN_SUFFIXES)


def normalise(field: str, value: Any) -> Any:
    """One comparable form of a field's value: a comma list as its set of trimmed entries,
    an unset flag as false, an unset string as empty."""
    if field in _COMMA_LISTS:
        if value is None:
            return frozenset()
        return frozenset(part.strip() for part in str(value).split(",") if part.strip())
    if _is_boolean(field) and value is None:
        return False
    if value is None:
        return ""
    return value


def same_value(field: str, observed: Any, desired: Any) -> bool:
    return bool(normalise(field, observed) == normalise(field, desired))


def display(field: str, value: Any) -> Any:
    """A value as the plan shows it (comma lists as lists)."""
    if field in _COMMA_LISTS:
        return sorted(normalise(field, value))
    return value
