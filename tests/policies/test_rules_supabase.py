"""Built-in Supabase rules: each passes on the example and fails, located, on a bad edit."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.policies.helpers import brief, builtin, failing, write

SUPA = "data/platforms/supabase/journal.yaml"
AUTH = """
    auth:
      jwt_exp: 3600
      site_url: https://journal.acme.example
      uri_allow_list: [https://journal.acme.example/auth/callback]
"""
REST = """
    database:
      rls: {enforce: true, schemas: [public]}
"""


def test_jwt_exp_passes_within_a_day(workspace: Path) -> None:
    assert brief(builtin(workspace, "journal", "supabase.jwt-exp")) == [
        ("pass", "supabase/auth", f"{SUPA}:2:3"),
    ]


def test_jwt_exp_fails_above_a_day(workspace: Path) -> None:
    write(workspace, SUPA, """
        auth:
          site_url: https://journal.acme.example
          jwt_exp: 86401
        """, REST)
    results = builtin(workspace, "journal", "supabase.jwt-exp")
    assert failing(results) == [("fail", "supabase/auth", f"{SUPA}:3:3")]


def test_rls_passes_when_every_exposed_schema_is_listed(workspace: Path) -> None:
    write(workspace, SUPA, AUTH, """
        database:
          rls: {enforce: true, schemas: [public, billing]}
        api:
          schemas: [public, billing]
        """)
    assert [r[:2] for r in brief(builtin(workspace, "journal", "supabase.rls"))] == [
        ("pass", "supabase/rls/billing"), ("pass", "supabase/rls/public"),
    ]


def test_rls_fails_on_an_exposed_schema_without_rls(workspace: Path) -> None:
    write(workspace, SUPA, AUTH, """
        database:
          rls: {enforce: true, schemas: [public]}
        api:
          schemas: [public, billing]
        """)
    results = builtin(workspace, "journal", "supabase.rls")
    assert failing(results) == [("fail", "supabase/rls/billing", f"{SUPA}:8:21")]


def test_rls_fails_for_every_exposed_schema_when_not_enforced(workspace: Path) -> None:
    write(workspace, SUPA, AUTH, """
        database:
          rls:
            enforce: false
        """)
    results = builtin(workspace, "journal", "supabase.rls")
    assert failing(results) == [("fail", "supabase/rls/public", f"{SUPA}:7:5")]


def test_publish_of_url_and_anon_key_passes(workspace: Path) -> None:
    allowed = builtin(workspace, "journal", "supabase.publish-allowed")
    exposed = builtin(workspace, "journal", "supabase.service-role-exposed")
    assert {r.status.value for r in allowed + exposed} == {"pass"}
    assert [r.resource for r in allowed] == [
        "supabase/publish/NEXT_PUBLIC_SUPABASE_ANON_KEY",
        "supabase/publish/NEXT_PUBLIC_SUPABASE_URL",
    ]


@pytest.mark.parametrize("source", ["service_role_key", "jwt_secret"])
def test_publishing_a_privileged_key_fails_both_publish_rules(workspace: Path, source: str) -> None:
    write(workspace, SUPA, AUTH, REST, f"""
        publish:
          vercel:
            NEXT_PUBLIC_SUPABASE_KEY:
              from: {source}
              environments: [prod]
        """)
    location = f"{SUPA}:10:7"
    resource = "supabase/publish/NEXT_PUBLIC_SUPABASE_KEY"
    exposed = builtin(workspace, "journal", "supabase.service-role-exposed")
    assert failing(exposed) == [("fail", resource, location)]
    allowed = builtin(workspace, "journal", "supabase.publish-allowed")
    assert failing(allowed) == [("fail", resource, location)]


def test_publishing_to_a_key_without_next_public_fails(workspace: Path) -> None:
    write(workspace, SUPA, AUTH, REST, """
        publish:
          vercel:
            SUPABASE_URL: {from: url, environments: [prod]}
        """)
    results = builtin(workspace, "journal", "supabase.publish-allowed")
    assert failing(results) == [("fail", "supabase/publish/SUPABASE_URL", f"{SUPA}:9:5")]


def test_provider_secret_passes_with_client_id_and_reference(workspace: Path) -> None:
    assert brief(builtin(workspace, "journal", "supabase.provider-secret")) == [
        ("pass", "supabase/provider/github", f"{SUPA}:12:7"),
    ]


def test_provider_secret_fails_on_a_literal_secret(workspace: Path) -> None:
    write(workspace, SUPA, """
        auth:
          site_url: https://journal.acme.example
          providers:
            github:
              enabled: true
              client_id: Iv1.8a61f9b3a7aba766
              secret: literal-oauth-secret-value
        """, REST)
    results = builtin(workspace, "journal", "supabase.provider-secret")
    assert failing(results) == [("fail", "supabase/provider/github", f"{SUPA}:7:7")]
    assert "literal-oauth-secret-value" not in results[0].message


def test_provider_secret_fails_without_client_id_and_passes_when_disabled(
    workspace: Path,
) -> None:
    write(workspace, SUPA, """
        auth:
          site_url: https://journal.acme.example
          providers:
            github:
              enabled: true
              secret: {ref: secret/prod/auth/GITHUB_OAUTH_SECRET}
            google:
              enabled: false
        """, REST)
    assert brief(builtin(workspace, "journal", "supabase.provider-secret")) == [
        ("fail", "supabase/provider/github", f"{SUPA}:4:5"),
        ("pass", "supabase/provider/google", f"{SUPA}:7:5"),
    ]


def test_https_urls_pass_with_https_localhost_and_a_scoped_wildcard(workspace: Path) -> None:
    write(workspace, SUPA, """
        auth:
          site_url: https://journal.acme.example
          uri_allow_list:
            - https://*.journal.acme.example/auth/callback
            - http://localhost:3000/**
            - http://127.0.0.1:3000/auth/callback
        """, REST)
    assert brief(builtin(workspace, "journal", "supabase.https-urls")) == [
        ("pass", "supabase/auth", f"{SUPA}:1:1"),
    ]


def test_https_urls_fail_on_http_and_bare_wildcards(workspace: Path) -> None:
    write(workspace, SUPA, """
        auth:
          site_url: http://journal.acme.example
          uri_allow_list:
            - https://journal.acme.example/ok
            - "*"
            - https://*
            - https://*.vercel.app/**
        """, REST)
    assert failing(builtin(workspace, "journal", "supabase.https-urls")) == [
        ("fail", "supabase/auth", f"{SUPA}:2:3"),
        ("fail", "supabase/auth", f"{SUPA}:5:7"),
        ("fail", "supabase/auth", f"{SUPA}:6:7"),
        ("fail", "supabase/auth", f"{SUPA}:7:7"),
    ]


def test_projects_without_supabase_get_no_supabase_auth_results(workspace: Path) -> None:
    assert builtin(workspace, "analytics", "supabase.jwt-exp") == []
