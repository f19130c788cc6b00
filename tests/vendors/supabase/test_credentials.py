"""Credentials that cannot reach the Management API are told apart by their shape and
refused before any request, in one sentence saying what the key can and cannot do
(issue 9, item 6): a project's service_role or anon JWT, its sb_secret_/sb_publishable_
keys, its URL in place of the Management API's, and the brief's SUPABASE_SERVICE_KEY."""

from __future__ import annotations

import jwt
import pytest

from converge.errors import VendorAuthError
from converge.vendors.http import RequestCounter
from converge.vendors.supabase.client import SupabaseClient
from converge.vendors.supabase.credentials import (
    check_management_credentials,
    project_key,
    project_url_ref,
)

REF = "journalprodqzvtkwmrx"
SERVICE_ROLE = jwt.encode({"iss": "supabase", "ref": REF, "role": "service_role"}, "k" * 32)
ANON = jwt.encode({"iss": "supabase", "ref": REF, "role": "anon"}, "k" * 32)
SECRET_KEY = "sb_secret_" + "A1b2" * 8
PUBLISHABLE = "sb_publishable_" + "C3d4" * 8
ACCESS_TOKEN = "sbp_" + "0123456789abcdef" * 2 + "01234567"
PROJECT_URL = f"https://{REF}.supabase.co"
NEEDS = ("Supabase's Management API needs SUPABASE_ACCESS_TOKEN set to a personal access "
         "token (sbp_…)")


def refusal(env: dict[str, str], **given_as: str) -> VendorAuthError:
    with pytest.raises(VendorAuthError) as caught:
        check_management_credentials(env, given_as=given_as)
    error = caught.value
    assert error.exit_code == 4
    shown = error.message + error.hint
    for key in (SERVICE_ROLE, ANON, SECRET_KEY, PUBLISHABLE, ACCESS_TOKEN):
        assert key not in shown
    return error


def test_a_service_role_jwt_given_as_the_key_says_what_it_can_and_cannot_do() -> None:
    error = refusal({"SUPABASE_ACCESS_TOKEN": SERVICE_ROLE},
                    SUPABASE_ACCESS_TOKEN="--supabase-key")

    assert error.message == (
        f"--supabase-key holds a Supabase project's service_role key (a JWT with role "
        f"service_role, project {REF}): it can use the project's data APIs (REST, GraphQL, "
        f"Storage, Auth admin) but not the Management API, which converge uses to manage "
        f"auth settings and run SQL; {NEEDS}")
    assert "SUPABASE_ACCESS_TOKEN" in error.hint


def test_the_briefs_url_and_service_role_key_together_name_both() -> None:
    error = refusal({"SUPABASE_ACCESS_TOKEN": SERVICE_ROLE, "SUPABASE_API_URL": PROJECT_URL},
                    SUPABASE_ACCESS_TOKEN="--supabase-key",
                    SUPABASE_API_URL="--supabase-url")

    assert error.message.startswith("--supabase-key holds a Supabase project's service_role")
    assert error.message.endswith(
        f"{NEEDS}; --supabase-url is that project's URL, not the Management API")


def test_the_briefs_supabase_service_key_is_named_and_said_to_be_unused() -> None:
    error = refusal({"SUPABASE_SERVICE_KEY": SERVICE_ROLE})

    assert error.message.startswith(
        "SUPABASE_SERVICE_KEY holds a Supabase project's service_role key (a JWT with role "
        f"service_role, project {REF}), which converge does not read: it can use")


def test_a_supabase_service_key_of_another_shape_still_says_which_variable_is_read() -> None:
    error = refusal({"SUPABASE_SERVICE_KEY": "not-a-key-converge-knows"})

    assert error.message == (
        f"SUPABASE_ACCESS_TOKEN is not set, and converge does not read SUPABASE_SERVICE_KEY: "
        f"{NEEDS}")


@pytest.mark.parametrize(("key", "kind", "can"), [
    (ANON, "anon key (a JWT with role anon, project journalprodqzvtkwmrx)",
     "can only do what the project's RLS policies allow its users"),
    (SECRET_KEY, "secret API key (sb_secret_…)",
     "can use the project's data APIs with service_role rights"),
    (PUBLISHABLE, "publishable key (sb_publishable_…)",
     "can only do what the project's RLS policies allow its users"),
])
def test_every_kind_of_project_key_is_named_with_what_it_can_do(
    key: str, kind: str, can: str
) -> None:
    error = refusal({"SUPABASE_ACCESS_TOKEN": key})

    assert error.message.startswith(
        f"SUPABASE_ACCESS_TOKEN holds a Supabase project's {kind}: it {can} but not the "
        "Management API")


@pytest.mark.parametrize("url", [PROJECT_URL, f"{PROJECT_URL}/", f"https://{REF}.supabase.in",
                                 f"https://{REF.upper()}.SUPABASE.CO/rest/v1"])
def test_a_project_url_in_place_of_the_management_api_is_refused(url: str) -> None:
    error = refusal({"SUPABASE_ACCESS_TOKEN": ACCESS_TOKEN, "SUPABASE_API_URL": url})

    assert error.message.startswith(f"SUPABASE_API_URL is the URL of Supabase project {REF}, "
                                    "which serves that project's data APIs")


@pytest.mark.parametrize("env", [
    {"SUPABASE_ACCESS_TOKEN": ACCESS_TOKEN},
    {"SUPABASE_ACCESS_TOKEN": ACCESS_TOKEN, "SUPABASE_API_URL": "https://api.supabase.com"},
    {"SUPABASE_ACCESS_TOKEN": ACCESS_TOKEN, "SUPABASE_API_URL": "http://127.0.0.1:54321"},
    {"SUPABASE_ACCESS_TOKEN": ACCESS_TOKEN, "SUPABASE_SERVICE_KEY": SERVICE_ROLE},
    # an OAuth access token is a JWT too, without a project role
    {"SUPABASE_ACCESS_TOKEN": jwt.encode({"sub": "user", "aud": "api"}, "k" * 32)},
    {},  # a missing token is the client's to name
])
def test_management_api_credentials_pass(env: dict[str, str]) -> None:
    check_management_credentials(env)


def test_shapes_are_told_without_a_signature_check() -> None:
    assert project_key("eyJ.not-a-jwt.x") is None
    assert project_url_ref("https://api.supabase.com") is None
    assert project_url_ref("https://db.abc.supabase.co") is None


def test_the_client_refuses_a_project_key_before_any_request() -> None:
    counter = RequestCounter()
    with pytest.raises(VendorAuthError) as caught:
        SupabaseClient.from_environment(
            {"SUPABASE_ACCESS_TOKEN": SERVICE_ROLE, "SUPABASE_API_URL": PROJECT_URL},
            counter=counter,
        )
    assert caught.value.exit_code == 4
    assert counter.total() == 0
