"""Built-in Vercel rules: each passes on the example and fails, located, on a bad edit."""

from __future__ import annotations

from pathlib import Path

import jwt

from tests.policies.helpers import brief, builtin, failing, write

VERCEL = "data/platforms/vercel/journal.yaml"
FAKE_STRIPE_SECRET = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"[::-1]  # made up, never real
SERVER = """
        server:
          INFISICAL_CLIENT_ID:
            ref: identity/token-service@journal-prod/client-id
            environments: [prod]
"""


def test_public_prefix_passes_on_next_public_keys(workspace: Path) -> None:
    results = builtin(workspace, "journal", "vercel.public-prefix")
    assert brief(results) == [
        ("pass", "vercel/NEXT_PUBLIC_API_URL", f"{VERCEL}:2:3"),
        ("pass", "vercel/NEXT_PUBLIC_APP_NAME", f"{VERCEL}:5:3"),
    ]


def test_public_prefix_fails_on_a_public_key_without_it(workspace: Path) -> None:
    write(workspace, VERCEL, """
        public:
          NEXT_PUBLIC_API_URL:
            value: https://api.journal.acme.example
            environments: [prod]
          API_URL:
            value: https://api.journal.acme.example
            environments: [prod]
        """, SERVER)
    results = builtin(workspace, "journal", "vercel.public-prefix")
    assert failing(results) == [("fail", "vercel/API_URL", f"{VERCEL}:5:3")]
    assert results[0].severity.value == "error"


def test_public_secret_fails_on_a_stripe_secret_key_and_names_only_the_kind(
    workspace: Path,
) -> None:
    write(workspace, VERCEL, f"""
        public:
          NEXT_PUBLIC_STRIPE_KEY:
            value: {FAKE_STRIPE_SECRET}
            environments: [prod]
        """, SERVER)
    results = builtin(workspace, "journal", "vercel.public-secret")
    assert failing(results) == [("fail", "vercel/NEXT_PUBLIC_STRIPE_KEY", f"{VERCEL}:3:5")]
    assert "Stripe" in results[0].message
    assert FAKE_STRIPE_SECRET not in results[0].message


def test_public_secret_locates_the_failing_entry_of_a_list(workspace: Path) -> None:
    write(workspace, VERCEL, f"""
        public:
          NEXT_PUBLIC_KEY:
            - value: pk_live_51HqLyjWDarjtT1zdp7dc4eC39HqLyjWDarjtT1zdp7dc
              environments: [prod]
            - value: {FAKE_STRIPE_SECRET}
              environments: [preview]
        """, SERVER)
    write(workspace, "projects/journal/project.yaml", """
        name: journal
        owners: [platform@acme.example]
        targets:
          infisical: {organization: acme, project: journal}
          vercel: {team: acme, project: journal-web}
          supabase: {organization: acme}
        environments:
          prod: {infisical: prod, vercel: [production], supabase: journalprodqzvtkwmrx}
          preview: {infisical: staging, vercel: [preview]}
        """)
    results = builtin(workspace, "journal", "vercel.public-secret")
    assert failing(results) == [("fail", "vercel/NEXT_PUBLIC_KEY", f"{VERCEL}:5:7")]


def test_public_secret_passes_a_supabase_anon_key(workspace: Path) -> None:
    anon = jwt.encode({"role": "anon", "iss": "supabase"}, "throwaway-test-key-0123456789abcdef",
                      algorithm="HS256")
    write(workspace, VERCEL, f"""
        public:
          NEXT_PUBLIC_SUPABASE_ANON_KEY:
            value: {anon}
            environments: [prod]
        """, SERVER)
    results = builtin(workspace, "journal", "vercel.public-secret")
    assert brief(results) == [
        ("pass", "vercel/NEXT_PUBLIC_SUPABASE_ANON_KEY", f"{VERCEL}:2:3"),
    ]


def test_server_reference_passes_on_infisical_references(workspace: Path) -> None:
    results = builtin(workspace, "journal", "vercel.server-reference")
    assert [r[0] for r in brief(results)] == ["pass", "pass"]


def test_server_reference_fails_on_a_literal_value(workspace: Path) -> None:
    write(workspace, VERCEL, """
        server:
          INFISICAL_CLIENT_ID:
            value: not-a-reference
            environments: [prod]
        """)
    results = builtin(workspace, "journal", "vercel.server-reference")
    assert failing(results) == [("fail", "vercel/INFISICAL_CLIENT_ID", f"{VERCEL}:3:5")]
    assert "not-a-reference" not in results[0].message


def test_server_reference_fails_on_a_key_outside_infisical(workspace: Path) -> None:
    write(workspace, VERCEL, """
        server:
          DATABASE_URL:
            ref: secret/prod/db/DATABASE_URL
            environments: [prod]
        """)
    results = builtin(workspace, "journal", "vercel.server-reference")
    assert failing(results) == [("fail", "vercel/DATABASE_URL", f"{VERCEL}:2:3")]


def test_service_role_jwt_in_a_public_value_fails_both_rules(workspace: Path) -> None:
    service = jwt.encode({"role": "service_role", "iss": "supabase"},
                         "throwaway-test-key-0123456789abcdef", algorithm="HS256")
    write(workspace, VERCEL, f"""
        public:
          NEXT_PUBLIC_SUPABASE_KEY:
            value: {service}
            environments: [prod]
        """, SERVER)
    exposed = builtin(workspace, "journal", "supabase.service-role-exposed")
    assert ("fail", "vercel/NEXT_PUBLIC_SUPABASE_KEY", f"{VERCEL}:3:5") in brief(exposed)
    secret = builtin(workspace, "journal", "vercel.public-secret")
    assert failing(secret) == [("fail", "vercel/NEXT_PUBLIC_SUPABASE_KEY", f"{VERCEL}:3:5")]
    assert all(service not in r.message for r in exposed + secret)


def _public(workspace: Path, key: str, value: str) -> None:
    """One public variable holding ``value`` (written as a YAML double-quoted string)."""
    write(workspace, VERCEL, f"""
        public:
          {key}:
            value: "{value}"
            environments: [prod]
        """, SERVER)


def test_public_secret_finds_a_stripe_key_split_by_a_space_or_zero_width_space(
    workspace: Path,
) -> None:
    """Issue 8 item 6: both splits used to pass decide (and apply)."""
    for split in (" ", "\\u200b"):
        _public(workspace, "NEXT_PUBLIC_STRIPE_KEY",
                FAKE_STRIPE_SECRET[:16] + split + FAKE_STRIPE_SECRET[16:])
        results = builtin(workspace, "journal", "vercel.public-secret")
        assert failing(results) == [("fail", "vercel/NEXT_PUBLIC_STRIPE_KEY", f"{VERCEL}:3:5")]
        assert "Stripe" in results[0].message


FORTY_HEX = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"


def test_forty_hex_characters_are_a_secret_unless_the_key_names_a_commit(
    workspace: Path,
) -> None:
    _public(workspace, "NEXT_PUBLIC_ANALYTICS_TOKEN", FORTY_HEX)
    results = builtin(workspace, "journal", "vercel.public-secret")
    assert failing(results) == [("fail", "vercel/NEXT_PUBLIC_ANALYTICS_TOKEN", f"{VERCEL}:3:5")]
    _public(workspace, "NEXT_PUBLIC_VERCEL_GIT_COMMIT_SHA", FORTY_HEX)
    assert failing(builtin(workspace, "journal", "vercel.public-secret")) == []


def test_public_characters_passes_on_the_example(workspace: Path) -> None:
    results = builtin(workspace, "journal", "vercel.public-characters")
    assert brief(results) == [
        ("pass", "vercel/NEXT_PUBLIC_API_URL", f"{VERCEL}:2:3"),
        ("pass", "vercel/NEXT_PUBLIC_APP_NAME", f"{VERCEL}:5:3"),
    ]


def test_public_characters_fails_on_nul_line_breaks_and_bidi_controls(workspace: Path) -> None:
    """Issue 8 item 6: these were applied to Vercel as they were."""
    for escaped, named in [("a\\0b", "NUL (U+0000)"), ("a\\r\\nb", "line break (U+000D)"),
                           ("https://acme.example/\\u202egnp.exe", "bidi control (U+202E)"),
                           ("\\u2066x\\u2069", "bidi control (U+2066)"),
                           ("a\\u200bb", "invisible format character (U+200B)"),
                           ("a\\x07b", "control character (U+0007)")]:
        _public(workspace, "NEXT_PUBLIC_APP_NAME", escaped)
        results = builtin(workspace, "journal", "vercel.public-characters")
        assert failing(results) == [("fail", "vercel/NEXT_PUBLIC_APP_NAME", f"{VERCEL}:3:5")]
        assert named in results[0].message, (escaped, results[0].message)
        assert results[0].severity.value == "error"
