"""The public-value secret detector: realistic public values pass, realistic secrets fail.

Every secret here is generated (seeded random or a JWT signed with a throwaway key);
none is real.
"""

from __future__ import annotations

import base64
import random
import string

import jwt
import pytest

from converge.policies.characters import find_unsafe_characters
from converge.policies.secrets import (
    SERVICE_ROLE,
    find_secrets,
    is_commit_key,
    is_service_role_jwt,
    jwt_role,
    public_value_problem,
)

RNG = random.Random(20261126)
ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits
THROWAWAY_KEY = "test-signing-key-not-a-real-secret-0123456789"


def rand(alphabet: str, n: int) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


def rand_hex(n: int) -> str:
    return rand("0123456789abcdef", n)


def supabase_jwt(role: str) -> str:
    claims = {"iss": "supabase", "ref": "journalprodqzvtkwmrx", "role": role,
              "iat": 1700000000, "exp": 2000000000}
    return jwt.encode(claims, THROWAWAY_KEY, algorithm="HS256")


PUBLIC_VALUES = [
    "Analytics",
    "Journal",
    "0.25",
    "true",
    "#1f2937",
    "en-US,de-DE,fr-FR",
    "https://api.journal.acme.example",
    "https://journal.acme.example/auth/callback",
    "https://journalprodqzvtkwmrx.supabase.co",
    "https://acme.example/dashboard/overview?utm_source=newsletter&ref=home",
    "https://cdn.acme.example/assets/app.3f9c2b1a.js",
    "https://www.googletagmanager.com/gtag/js?id=G-8XK2LQ9PZR",
    "https://maps.googleapis.com/maps/api/js?key=AIza" + rand(ALNUM, 35) + "&libraries=places",
    "https://journal.acme.example/login?auth=github&next=/home",
    supabase_jwt("anon"),
    "pk_live_51" + rand(ALNUM, 97),
    "pk_test_" + rand(ALNUM, 99),
    "sb_publishable_" + rand(ALNUM, 30),
    "phc_" + rand(ALNUM, 43),
    "AIza" + rand(ALNUM + "-_", 35),
    "6Le" + rand(ALNUM + "_-", 37),
    "G-8XK2LQ9PZR",
    "GTM-5XK2LQ9",
    "UA-12345678-1",
    f"https://{rand_hex(32)}@o123456.ingest.sentry.io/4504567890123456",
    "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
    "journal-web-production-eu-west-1",
    "release-2024-11-26-build-1234",
    "mySuperLongPublicFeatureFlagName",
    "Journal_App_iOS_Production_Build",
    "Iv1.8a61f9b3a7aba766",
    "acme-analytics-dashboard-prod",
    "projects/journal/environments/production",
    # Text with spaces: the whitespace-free form is only searched for token formats.
    "Sign in with GitHub",
    "Welcome to Journal — write every day",
    "© 2026 Acme Inc. All rights reserved.",
    "Journal v2.3.1 (build 1234)",
    "Q1 Q2 Q3 Q4 2026 EU US APAC",
    "x7 k9 p2 m4 z8 w1 r5 t3 y6 u0",
    "G-8XK2LQ9PZR GTM-5XK2LQ9",
    "https://journal.acme.example user@acme.example",
    "Roboto, Helvetica Neue, Arial, sans-serif",
    "eu-west-1 us-east-1 ap-southeast-2",
]

SECRET_VALUES = [
    ("AWS access key id", "AKIA" + rand(UPPER_DIGITS, 16)),
    ("AWS secret key (bare)", rand(ALNUM + "/+", 40)),
    ("Stripe live secret", "sk_live_" + rand(ALNUM, 24)),
    ("Stripe test secret", "sk_test_" + rand(ALNUM, 24)),
    ("Stripe webhook secret", "whsec_" + rand(ALNUM, 32)),
    ("GitHub classic token", "ghp_" + rand(ALNUM, 36)),
    ("GitHub fine-grained token", "github_pat_" + rand(ALNUM + "_", 82)),
    ("Slack bot token",
     f"xoxb-{rand(string.digits, 12)}-{rand(string.digits, 12)}-{rand(ALNUM, 24)}"),
    ("Slack webhook", "https://hooks.slack.com/services/T" + rand(UPPER_DIGITS, 8) + "/B"
     + rand(UPPER_DIGITS, 8) + "/" + rand(ALNUM, 24)),
    ("private key", "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA"),
    ("Supabase service_role JWT", supabase_jwt("service_role")),
    ("user access token JWT", supabase_jwt("authenticated")),
    ("Supabase secret key", "sb_secret_" + rand(ALNUM, 32)),
    ("URL with password", "postgres://postgres:" + rand(ALNUM, 20) + "@db.acme.example:5432/app"),
    ("URL with token user", "https://" + rand(ALNUM, 12) + "@github.com/acme/repo.git"),
    ("URL with api_key param", "https://api.acme.example/v1?api_key=" + rand(ALNUM, 12)),
    ("Google OAuth client secret", "GOCSPX-" + rand(ALNUM, 28)),
    ("Anthropic key", "sk-ant-api03-" + rand(ALNUM, 80)),
    ("OpenAI project key", "sk-proj-" + rand(ALNUM, 48)),
    ("SendGrid key", "SG." + rand(ALNUM, 22) + "." + rand(ALNUM, 43)),
    ("npm token", "npm_" + rand(ALNUM, 36)),
    ("hex 128-bit key", rand_hex(32)),
    ("hex 256-bit key", rand_hex(64)),
    ("base64 key", base64.b64encode(RNG.randbytes(32)).decode()),
    ("urlsafe token", base64.urlsafe_b64encode(RNG.randbytes(24)).decode().rstrip("=")),
    ("random 24", rand(ALNUM, 24)),
    ("random 32", rand(ALNUM, 32)),
    ("secret inside a sentence", "key is " + rand(ALNUM, 32) + " ok"),
]


@pytest.mark.parametrize("value", PUBLIC_VALUES)
def test_public_by_design_values_pass(value: str) -> None:
    assert find_secrets(value) == []


@pytest.mark.parametrize(("label", "value"), SECRET_VALUES, ids=[s[0] for s in SECRET_VALUES])
def test_realistic_secrets_are_found(label: str, value: str) -> None:
    assert find_secrets(value), label


@pytest.mark.parametrize("length", [24, 32, 40, 64])
def test_random_tokens_of_every_length_are_found(length: int) -> None:
    misses = [t for t in (rand(ALNUM + "-_", length) for _ in range(200)) if not find_secrets(t)]
    assert misses == []


def test_findings_name_the_kind_never_the_value() -> None:
    value = "sk_live_" + rand(ALNUM, 24)
    findings = find_secrets(value)
    assert [f.kind for f in findings] == ["Stripe Access Key"]
    assert all(value not in repr(f) for f in findings)


def test_service_role_jwt_is_named_as_such() -> None:
    token = supabase_jwt("service_role")
    assert [f.kind for f in find_secrets(token)] == [SERVICE_ROLE]
    assert find_secrets(token)[0].service_role
    assert is_service_role_jwt(token)
    assert not is_service_role_jwt(supabase_jwt("anon"))


def test_jwt_role_reads_claims_without_verifying() -> None:
    assert jwt_role(supabase_jwt("anon")) == "anon"
    assert jwt_role(jwt.encode({"sub": "x"}, THROWAWAY_KEY, algorithm="HS256")) == ""
    assert jwt_role("not.a.jwt") is None


STRIPE_LIVE = "sk_live_" + rand(ALNUM, 24)
AWS_KEY_ID = "AKIA" + rand(UPPER_DIGITS, 16)
SPLITS = {
    "one space": " ", "two spaces": "  ", "tab": "\t", "newline": "\n",
    "zero-width space U+200B": "\u200b", "word joiner U+2060": "\u2060",
    "soft hyphen U+00AD": "\u00ad", "BOM U+FEFF": "\ufeff", "RLO U+202E": "\u202e",
    "NUL": "\x00", "no-break space": "\u00a0",
}


@pytest.mark.parametrize("split", sorted(SPLITS))
@pytest.mark.parametrize("secret", [STRIPE_LIVE, AWS_KEY_ID, supabase_jwt("service_role")],
                         ids=["stripe-live", "aws-key-id", "service-role-jwt"])
def test_a_secret_split_by_spaces_or_invisible_characters_is_found(
    secret: str, split: str
) -> None:
    """Issue 8 item 6: 'sk_live_' split by one space or U+200B used to pass."""
    middle = len(secret) // 2
    value = secret[:middle] + SPLITS[split] + secret[middle:]
    assert find_secrets(value), (split, secret[:8])


def test_a_random_token_split_by_zero_width_characters_is_found() -> None:
    token = rand(ALNUM, 32)
    assert find_secrets("\u200b".join(token[i:i + 4] for i in range(0, 32, 4)))


def test_forty_hex_is_a_secret_unless_the_key_names_a_commit() -> None:
    """A 40-hex value used to pass as a git commit whatever its key: an HMAC-SHA1 or an
    API token of 40 hex characters then shipped to browsers."""
    value = rand_hex(40)
    assert [f.kind for f in find_secrets(value)] == ["Hex High Entropy String"]
    assert find_secrets(value, key="NEXT_PUBLIC_APP_NAME")
    assert find_secrets(f"https://cdn.acme.example/{value}/app.js", key="NEXT_PUBLIC_CDN")
    for key in ("NEXT_PUBLIC_VERCEL_GIT_COMMIT_SHA", "NEXT_PUBLIC_GIT_SHA",
                "NEXT_PUBLIC_COMMIT_SHA", "NEXT_PUBLIC_COMMIT", "NEXT_PUBLIC_GIT_COMMIT_HASH",
                "NEXT_PUBLIC_GIT_REVISION"):
        assert is_commit_key(key), key
        assert find_secrets(value, key=key) == [], key
    for key in ("NEXT_PUBLIC_BUILD_SHA", "NEXT_PUBLIC_API_KEY", "NEXT_PUBLIC_SECRET_HASH",
                "NEXT_PUBLIC_COMMITTEE", None):
        assert not is_commit_key(key), key
    # A commit key does not make other secrets public.
    assert find_secrets(STRIPE_LIVE, key="NEXT_PUBLIC_GIT_SHA")
    assert find_secrets(rand_hex(64), key="NEXT_PUBLIC_GIT_SHA")


@pytest.mark.parametrize(("value", "described"), [
    ("a\x00b", "NUL (U+0000)"),
    ("line one\nline two", "line break (U+000A)"),
    ("a\r\nb", "line break (U+000D)"),
    ("tab\there", "control character (U+0009)"),
    ("bell\x07", "control character (U+0007)"),
    ("del\x7f", "control character (U+007F)"),
    ("c1\x85", "control character (U+0085)"),
    ("https://acme.example/\u202egnp.exe", "bidi control (U+202E)"),
    ("\u2066isolate\u2069", "bidi control (U+2066)"),
    ("left\u200fmark", "bidi control (U+200F)"),
    ("zero\u200bwidth", "invisible format character (U+200B)"),
    ("bom\ufeff", "invisible format character (U+FEFF)"),
    ("para\u2029graph", "line break (U+2029)"),
])
def test_control_bidi_and_invisible_characters_are_named(value: str, described: str) -> None:
    assert described in find_unsafe_characters(value)


@pytest.mark.parametrize("value", [
    "Journal", "Café Crème", "日本語のジャーナル", "Ünïcödé ✓", "👩‍💻 Journal", "a b",
    "https://journal.acme.example/auth/callback",
])
def test_printable_text_has_no_unsafe_characters(value: str) -> None:
    assert find_unsafe_characters(value) == []


def test_the_apply_time_check_names_secrets_and_characters_never_values() -> None:
    assert public_value_problem("NEXT_PUBLIC_APP_NAME", "Journal") is None
    split = STRIPE_LIVE[:10] + "\u200b" + STRIPE_LIVE[10:]
    problem = public_value_problem("NEXT_PUBLIC_X", split)
    assert problem is not None and problem.startswith("looks like a secret (")
    assert "Stripe Access Key" in problem and STRIPE_LIVE[10:] not in problem
    assert public_value_problem("NEXT_PUBLIC_X", "Journal\u202e\x00") == (
        "holds a NUL (U+0000) and a bidi control (U+202E)")
    assert public_value_problem("NEXT_PUBLIC_GIT_SHA", rand_hex(40)) is None
