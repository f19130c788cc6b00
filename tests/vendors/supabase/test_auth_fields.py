"""converge's auth settings become the Management API's fields; values the API reshapes
compare equal; identifiers are quoted safely; only a real anon key is publishable."""

from __future__ import annotations

import jwt
import pytest

from converge.errors import ConvergeError
from converge.vendors.supabase.auth_fields import same_value, translate_auth
from converge.vendors.supabase.keys import select_anon_key
from converge.vendors.supabase.sql import enable_rls, quote_ident
from converge.vendors.supabase.wire import ApiKey

REF = "journalprodqzvtkwmrx"


def test_auth_block_translates_to_management_api_fields() -> None:
    settings = translate_auth({
        "jwt_exp": 900, "site_url": "https://a.example", "disable_signup": True,
        "mailer_autoconfirm": False, "password_min_length": 14,
        "uri_allow_list": ["https://a.example/cb", "https://b.example/cb"],
        "mfa": {"totp": True, "phone": False},
        "providers": {"github": {"enabled": True, "client_id": "Iv1.x",
                                 "secret": {"ref": "secret/prod/auth/GH", "rotate": 2}}},
    })
    assert settings.values == {
        "jwt_exp": 900, "site_url": "https://a.example", "disable_signup": True,
        "mailer_autoconfirm": False, "password_min_length": 14,
        "uri_allow_list": "https://a.example/cb,https://b.example/cb",
        "mfa_totp_enroll_enabled": True, "mfa_totp_verify_enabled": True,
        "mfa_phone_enroll_enabled": False, "mfa_phone_verify_enabled": False,
        "external_github_enabled": True, "external_github_client_id": "Iv1.x",
    }
    (secret,) = settings.secrets.values()
    assert (secret.field, secret.reference, secret.rotate) == (
        "external_github_secret", "secret/prod/auth/GH", 2)


def test_null_settings_are_left_unmanaged() -> None:
    settings = translate_auth({"mfa": None, "site_url": None, "providers": {}})
    assert settings.values == {} and settings.secrets == {}


@pytest.mark.parametrize("auth", [
    {"jwt_expiry": 3600},
    {"providers": {"myspace": {"enabled": True}}},
    {"providers": {"github": {"secret": "plaintext-in-an-artifact"}}},
    {"mfa": {"sms": True}},
])
def test_unknown_or_unsafe_settings_are_refused(auth: dict[str, object]) -> None:
    with pytest.raises(ConvergeError):
        translate_auth(auth)


def test_reshaped_values_compare_equal() -> None:
    assert same_value("uri_allow_list", "https://b/cb, https://a/cb", "https://a/cb,https://b/cb")
    assert same_value("uri_allow_list", None, "")
    assert same_value("external_github_enabled", None, False)
    assert not same_value("external_github_enabled", None, True)
    assert not same_value("jwt_exp", 3600, 900)


def test_identifiers_are_quoted_against_injection() -> None:
    assert quote_ident('odd "name') == '"odd ""name"'
    assert enable_rls("public", 'x"; drop table y; --') == (
        'alter table "public"."x""; drop table y; --" enable row level security')
    with pytest.raises(ValueError):
        quote_ident("")


def _jwt(role: str, ref: str = REF) -> str:
    return jwt.encode({"role": role, "ref": ref, "iss": "supabase"}, "k" * 32,
                      algorithm="HS256")


def test_the_legacy_anon_jwt_is_selected() -> None:
    keys = [ApiKey(name="service_role", type="legacy", api_key=_jwt("service_role")),
            ApiKey(name="anon", type="legacy", api_key=_jwt("anon"))]
    assert select_anon_key(keys, ref=REF) == keys[1].api_key


@pytest.mark.parametrize("value", [_jwt("service_role"), _jwt("anon", ref="otherprojectrefxxxxx"),
                                   "sb_secret_abcdefg", "not-a-jwt"])
def test_a_key_named_anon_that_is_not_this_projects_anon_jwt_is_refused(value: str) -> None:
    with pytest.raises(ConvergeError) as caught:
        select_anon_key([ApiKey(name="anon", type="legacy", api_key=value)], ref=REF)
    assert value not in str(caught.value) + caught.value.hint


def test_without_legacy_keys_the_publishable_key_is_used_never_a_secret_one() -> None:
    keys = [ApiKey(name="default", type="secret", api_key="sb_secret_x"),
            ApiKey(name="default", type="publishable", api_key="sb_publishable_y")]
    assert select_anon_key(keys, ref=REF) == "sb_publishable_y"
    with pytest.raises(ConvergeError):
        select_anon_key(keys[:1], ref=REF)
