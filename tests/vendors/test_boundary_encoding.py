"""At the vendor boundary, no value can change a request's path or split a list field
(issue 8 item 2).

Input models already refuse such values; these tests feed the clients values that
slipped through anyway and look at the raw request line that would reach the vendor.
Before the fix, a Vercel project named ``a/../../v2/teams`` made converge request
``/v2/teams/env`` (httpx removes the dot segments), and ``api.schemas: ["public,auth"]``
was sent as ``db_schema: "public,auth"``: two schemas for PostgREST.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from converge.errors import ConvergeError
from converge.vendors.http import RequestCounter, api_path, comma_list, path_segment
from converge.vendors.infisical.client import InfisicalClient
from converge.vendors.supabase.auth_fields import translate_auth
from converge.vendors.supabase.client import SupabaseClient
from converge.vendors.vercel.client import ProjectScope, VercelClient

HOSTILE = "a/../../v2/teams"
ENCODED = "a%2F..%2F..%2Fv2%2Fteams"


def recorder(body: object) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=body)

    return httpx.MockTransport(handle), seen


def raw_paths(seen: list[httpx.Request]) -> list[str]:
    return [r.url.raw_path.decode().split("?")[0] for r in seen]


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVERGE_RETRY_FAST", "1")


def test_a_path_segment_is_percent_encoded_whole() -> None:
    assert path_segment(HOSTILE) == ENCODED
    assert path_segment("a?b#c%d e") == "a%3Fb%23c%25d%20e"
    assert path_segment("journal-web") == "journal-web"
    assert api_path("/v9/projects/{}/env/{}", "p", "x/y") == "/v9/projects/p/env/x%2Fy"


@pytest.mark.parametrize("value", ["", ".", ".."])
def test_a_segment_that_would_be_read_as_a_directory_is_refused(value: str) -> None:
    with pytest.raises(ConvergeError, match="path segment"):
        path_segment(value)


def test_a_comma_list_refuses_an_entry_with_a_comma() -> None:
    assert comma_list(["public", "private"], field="db_schema") == "public,private"
    with pytest.raises(ConvergeError, match="db_schema") as caught:
        comma_list(["public,auth"], field="db_schema")
    assert "public,auth" not in caught.value.message  # values are named by field, not shown


def _vercel(transport: httpx.BaseTransport) -> VercelClient:
    env = {"VERCEL_TOKEN": "t", "VERCEL_API_URL": "http://vercel.test"}
    return VercelClient.from_environment(env, counter=RequestCounter(), transport=transport)


def test_vercel_project_names_and_env_ids_cannot_change_the_path() -> None:
    transport, seen = recorder({"envs": [], "pagination": None, "id": "prj_1", "key": "K",
                                "target": ["production"], "type": "plain"})
    client = _vercel(transport)
    scope = ProjectScope("acme", HOSTILE)
    client.list_env(scope)
    client.project_id(scope)
    client.get_env(scope, "e/../../x")
    client.delete_env(scope, "e?x=1")
    assert raw_paths(seen) == [
        f"/v10/projects/{ENCODED}/env",
        f"/v9/projects/{ENCODED}",
        f"/v1/projects/{ENCODED}/env/e%2F..%2F..%2Fx",
        f"/v9/projects/{ENCODED}/env/e%3Fx%3D1",
    ]


def test_vercel_refuses_a_dot_segment_before_sending() -> None:
    transport, seen = recorder({})
    with pytest.raises(ConvergeError):
        _vercel(transport).list_env(ProjectScope("acme", ".."))
    assert seen == []


def test_infisical_ids_and_slugs_cannot_change_the_path() -> None:
    transport, seen = recorder({"identity": {"id": "i", "name": "n"}, "role": None,
                                "identityMembership": None})
    env = {"INFISICAL_TOKEN": "t", "INFISICAL_API_URL": "http://infisical.test"}
    client = InfisicalClient.from_environment(env, counter=RequestCounter(), transport=transport)
    calls: list[Callable[[], object]] = [
        lambda: client.delete_identity("../../v2/x"),
        lambda: client.delete_role("p/../q", "r#1"),
        lambda: client.delete_membership("p", "i/../j"),
        lambda: client.revoke_client_secret("i", "s/../../t"),
    ]
    for call in calls:
        call()
    assert raw_paths(seen) == [
        "/api/v1/identities/..%2F..%2Fv2%2Fx",
        "/api/v1/projects/p%2F..%2Fq/roles/r%231",
        "/api/v1/projects/p/identity-memberships/i%2F..%2Fj",
        "/api/v1/auth/universal-auth/identities/i/client-secrets/s%2F..%2F..%2Ft/revoke",
    ]


def _supabase(transport: httpx.BaseTransport) -> SupabaseClient:
    env = {"SUPABASE_ACCESS_TOKEN": "sbp_t", "SUPABASE_API_URL": "http://supabase.test"}
    return SupabaseClient.from_environment(env, counter=RequestCounter(), transport=transport)


def test_supabase_refs_cannot_change_the_path() -> None:
    transport, seen = recorder({"db_schema": "public"})
    _supabase(transport).get_postgrest_config("ab/../../cd")
    assert raw_paths(seen) == ["/v1/projects/ab%2F..%2F..%2Fcd/postgrest"]


def test_supabase_never_sends_a_schema_name_holding_a_comma() -> None:
    """The reported bypass: 'public,auth' would expose auth (and auth.users) unprotected."""
    transport, seen = recorder({"db_schema": "public,auth"})
    client = _supabase(transport)
    with pytest.raises(ConvergeError, match="db_schema"):
        client.patch_postgrest_config("journalprodqzvtkwmrx", ["public,auth"])
    assert seen == []
    client.patch_postgrest_config("journalprodqzvtkwmrx", ["public", "private"])
    assert [r.read() for r in seen] == [b'{"db_schema":"public,private"}']


def test_supabase_auth_comma_lists_refuse_an_entry_with_a_comma() -> None:
    ok = translate_auth({"uri_allow_list": ["https://a.example/cb", "https://b.example/cb"]})
    assert ok.values["uri_allow_list"] == "https://a.example/cb,https://b.example/cb"
    with pytest.raises(ConvergeError, match="uri_allow_list"):
        translate_auth({"uri_allow_list": ["https://a.example/cb,https://evil.example"]})
