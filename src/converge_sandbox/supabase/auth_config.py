"""Auth service config: vendor defaults, PATCH validation and merge, secret masking on read.

Why this matters to converge: its plan compares desired auth settings with what
``GET /config/auth`` returns, and secrets come back only as a keyed fingerprint, so a
second apply must see no difference. The vendor's rules, reproduced here:

* every key is always present (``null`` when unset);
* PATCH is partial and validates only the keys sent (400 ``"<field>: <reason>"``);
  keys the schema does not know are dropped, as the vendor's zod-style parser does;
* secrets are stored as sent and read back as ``hex(HMAC-SHA256(key=ref, msg=value))``,
  which is what ``supabase config push`` compares before re-sending a secret;
* ``smtp_host: ""`` turns custom SMTP off and clears every SMTP server field;
* ``rate_limit_email_sent`` may change only while custom SMTP is on.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime
from typing import Any

from converge_sandbox.jsontype import json_type
from converge_sandbox.supabase.auth_fields import FIELDS, SECRET_FIELDS, FieldSpec
from converge_sandbox.supabase.errors import bad_request

AuthConfig = dict[str, Any]

_SMTP_SERVER_FIELDS = (
    "smtp_host", "smtp_port", "smtp_user", "smtp_pass", "smtp_sender_name", "smtp_admin_email",
)
_SMS_TEMPLATE = "Your code is {{ .Code }}"

# Values a new hosted project starts with (the CLI's config.toml template documents the
# same defaults: jwt_expiry 3600, minimum_password_length 6, the auth rate limits, …).
# Everything else starts as null.
_DEFAULTS: AuthConfig = {
    "site_url": "http://localhost:3000",
    "uri_allow_list": "",
    "disable_signup": False,
    "jwt_exp": 3600,
    "refresh_token_rotation_enabled": True,
    "security_refresh_token_reuse_interval": 10,
    "security_manual_linking_enabled": False,
    "security_update_password_require_reauthentication": False,
    "security_captcha_enabled": False,
    "external_anonymous_users_enabled": False,
    "external_email_enabled": True,
    "external_phone_enabled": False,
    "mailer_autoconfirm": False,
    "mailer_secure_email_change_enabled": True,
    "mailer_otp_exp": 3600,
    "mailer_otp_length": 6,
    "mailer_subjects_confirmation": "Confirm Your Signup",
    "mailer_subjects_email_change": "Confirm Email Change",
    "mailer_subjects_invite": "You have been invited",
    "mailer_subjects_magic_link": "Your Magic Link",
    "mailer_subjects_reauthentication": "Confirm reauthentication",
    "mailer_subjects_recovery": "Reset Your Password",
    "password_min_length": 6,
    "password_required_characters": "",
    "password_hibp_enabled": False,
    "smtp_max_frequency": 60,
    "sms_autoconfirm": False,
    "sms_max_frequency": 60,
    "sms_otp_exp": 60,
    "sms_otp_length": 6,
    "sms_template": _SMS_TEMPLATE,
    "mfa_max_enrolled_factors": 10,
    "mfa_totp_enroll_enabled": True,
    "mfa_totp_verify_enabled": True,
    "mfa_phone_enroll_enabled": False,
    "mfa_phone_verify_enabled": False,
    "mfa_phone_otp_length": 6,
    "mfa_phone_template": _SMS_TEMPLATE,
    "mfa_phone_max_frequency": 5,
    "mfa_web_authn_enroll_enabled": False,
    "mfa_web_authn_verify_enabled": False,
    "passkey_enabled": False,
    "rate_limit_anonymous_users": 30,
    "rate_limit_email_sent": 2,
    "rate_limit_sms_sent": 30,
    "rate_limit_token_refresh": 150,
    "rate_limit_verify": 30,
    "rate_limit_otp": 30,
    "rate_limit_web3": 30,
    "saml_enabled": False,
    "saml_allow_encrypted_assertions": False,
    "oauth_server_enabled": False,
    "oauth_server_allow_dynamic_registration": False,
    "custom_oauth_enabled": False,
    "custom_oauth_max_providers": 0,
    "api_max_request_duration": 10,
    "db_max_pool_size": 10,
    "db_max_pool_size_unit": "connections",
    "external_web3_solana_enabled": False,
    "external_web3_ethereum_enabled": False,
}


def default_auth_config(**overrides: Any) -> AuthConfig:
    """A full auth config (every key) with the vendor's defaults and ``overrides``."""
    config: AuthConfig = dict.fromkeys(FIELDS)
    config.update(_DEFAULTS)
    config.update(overrides)
    return config


def secret_fingerprint(ref: str, value: str) -> str:
    """What the vendor returns for a secret: lowercase hex HMAC-SHA256 keyed by the ref."""
    return hmac.new(ref.encode(), value.encode(), hashlib.sha256).hexdigest()


def render_auth_config(ref: str, stored: AuthConfig) -> AuthConfig:
    """The GET body: every key in the schema's order, secrets replaced by fingerprints."""
    body: AuthConfig = {}
    for name in FIELDS:
        value = stored.get(name)
        if name in SECRET_FIELDS and value is not None:
            value = secret_fingerprint(ref, value) if value != "" else None
        body[name] = value
    return body


def apply_auth_patch(stored: AuthConfig, patch: object) -> AuthConfig:
    """Validate ``patch`` (raising a 400 ``ApiError``) and return the merged config."""
    if not isinstance(patch, dict):
        raise bad_request("Expected object, received " + json_type(patch))
    accepted = {k: v for k, v in patch.items() if k in FIELDS and FIELDS[k].writable}
    for name, value in accepted.items():
        problem = check_value(FIELDS[name], value)
        if problem:
            raise bad_request(f"{name}: {problem}")
    merged = dict(stored)
    merged.update(accepted)
    if accepted.get("smtp_host") == "":
        for name in _SMTP_SERVER_FIELDS:
            merged[name] = None
    if (
        "rate_limit_email_sent" in accepted
        and accepted["rate_limit_email_sent"] != stored.get("rate_limit_email_sent")
        and merged.get("smtp_host") is None
    ):
        raise bad_request("Custom SMTP required to configure RATE_LIMIT_EMAIL_SENT")
    return merged


def check_value(spec: FieldSpec, value: object) -> str:
    """Why ``value`` is not acceptable for ``spec``, in the vendor's words; "" if it is."""
    if value is None:
        return "" if spec.nullable else f"Expected {spec.kind}, received null"
    expected = {"string": (str,), "boolean": (bool,), "integer": (int,), "number": (int, float)}
    if not isinstance(value, expected[spec.kind]) or (
        spec.kind in ("integer", "number") and isinstance(value, bool)
    ):
        return f"Expected {spec.kind}, received {json_type(value)}"
    if isinstance(value, int | float):
        if spec.minimum is not None and value < spec.minimum:
            return f"Number must be greater than or equal to {spec.minimum}"
        if spec.maximum is not None and value > spec.maximum:
            return f"Number must be less than or equal to {spec.maximum}"
    if isinstance(value, str):
        if spec.enum is not None and value not in spec.enum:
            allowed = " | ".join(f"'{option}'" for option in spec.enum)
            return f"Invalid enum value. Expected {allowed}, received '{value}'"
        if spec.pattern is not None and not re.search(spec.pattern, value):
            return "Invalid"
        if spec.fmt == "email" and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
            return "Invalid email"
        if spec.fmt == "date-time" and not _is_datetime(value):
            return "Invalid datetime"
    return ""


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
