"""The cases of the hostile-input corpus, grouped by the issue item they come from.

Line numbers refer to ``examples/workspace`` as committed; a case that edits a file states
where the error must point in the edited file.
"""

from __future__ import annotations

from tests.hostile.corpus import (
    OUTSIDE,
    HostileCase,
    Remove,
    Replace,
    Symlink,
    Write,
)

SETTINGS = "converge.yaml"
OUT_KEY = f"{SETTINGS}:4:1"
STATE_KEY = f"{SETTINGS}:3:1"
POLICIES_KEY = f"{SETTINGS}:5:1"
AUDIT_KEY = f"{SETTINGS}:6:1"
ESCAPES = "outside the workspace"

# --- issue 8 item 1: every path in converge.yaml stays inside the workspace ------------------

PATHS = [
    HostileCase("out-parent", "8.1", (Replace(SETTINGS, "out: .out", "out: ../outside"),),
                OUT_KEY, ESCAPES, command=("decide", "journal")),
    HostileCase("out-parent-render", "8.1", (Replace(SETTINGS, "out: .out", "out: ../outside"),),
                OUT_KEY, ESCAPES, command=("render", "journal")),
    HostileCase("out-absolute", "8.1", (Replace(SETTINGS, "out: .out", f"out: {OUTSIDE}"),),
                OUT_KEY, ESCAPES, command=("decide", "journal")),
    HostileCase("out-dotdot-inside", "8.1",
                (Replace(SETTINGS, "out: .out", "out: projects/../../outside"),),
                OUT_KEY, ESCAPES, command=("decide", "journal")),
    HostileCase("out-symlink", "8.1", (Symlink(".out", "../outside"),),
                OUT_KEY, ESCAPES, command=("decide", "journal")),
    HostileCase("out-project-symlink", "8.1", (Symlink(".out/journal", "../../outside/journal"),),
                ".out/journal", ESCAPES, command=("decide", "journal")),
    HostileCase("out-is-workspace", "8.1", (Replace(SETTINGS, "out: .out", "out: ."),),
                OUT_KEY, "folder of its own", command=("decide", "journal")),
    HostileCase("out-inside-inputs", "8.1",
                (Replace(SETTINGS, "out: .out", "out: data/infisical"),),
                OUT_KEY, "folder of its own", command=("decide", "journal")),
    HostileCase("audit-log-parent", "8.1",
                (Replace(SETTINGS, "audit_log: reconciliation.log",
                         "audit_log: ../outside/x.log"),),
                AUDIT_KEY, ESCAPES),
    HostileCase("audit-log-absolute", "8.1",
                (Replace(SETTINGS, "audit_log: reconciliation.log",
                         f"audit_log: {OUTSIDE}/x.log"),),
                AUDIT_KEY, ESCAPES),
    HostileCase("audit-log-symlink", "8.1", (Symlink("reconciliation.log", "../outside/x.log"),),
                AUDIT_KEY, ESCAPES),
    HostileCase("state-parent", "8.1",
                (Replace(SETTINGS, "state: .converge/state.db", "state: ../outside/state.db"),),
                STATE_KEY, ESCAPES),
    HostileCase("state-folder-symlink", "8.1", (Symlink(".converge", "../outside"),),
                STATE_KEY, ESCAPES),
    HostileCase("state-folder-symlink-postgres-state", "8.1",
                (Replace(SETTINGS, "state: .converge/state.db",
                         "state: postgresql://converge@db.acme.example/converge"),
                 Symlink(".converge", "../outside")),
                ".converge", ESCAPES),
    HostileCase("policies-parent", "8.1",
                (Replace(SETTINGS, "policies: policies", "policies: ../outside"),),
                POLICIES_KEY, ESCAPES, command=("decide", "journal")),
    HostileCase("policies-folder-symlink", "8.1", (Symlink("policies", "../outside"),),
                POLICIES_KEY, ESCAPES, command=("decide", "journal")),
]

# --- issue 8 item 8: policy loading ---------------------------------------------------------

POLICIES = [
    HostileCase("policies-missing", "8.8a",
                (Replace(SETTINGS, "policies: policies", "policies: no-such-dir"),),
                POLICIES_KEY, "does not exist", command=("decide", "journal")),
    HostileCase("policies-missing-default-folder", "8.8a", (Remove("policies"),),
                POLICIES_KEY, "does not exist", command=("decide", "journal")),
    HostileCase("policies-is-a-file", "8.8a",
                (Replace(SETTINGS, "policies: policies", "policies: converge.yaml"),),
                POLICIES_KEY, "is not a folder", command=("decide", "journal")),
    HostileCase("rego-symlink-outside", "8.8b",
                (Symlink("policies/evil.rego", "../../outside/evil.rego"),),
                "policies/evil.rego", ESCAPES, command=("decide", "journal")),
    HostileCase("rego-symlink-absolute", "8.8b",
                (Symlink("policies/owners.rego", f"{OUTSIDE}/evil.rego"),),
                "policies/owners.rego", ESCAPES, command=("decide", "journal")),
    HostileCase("rego-endless-loop", "8.8c",
                (Write("policies/slow.rego",
                       "package slow\n\nimport rego.v1\n\ndeny contains msg if {\n"
                       "  some n in numbers.range(1, 100000000)\n  n < 0\n"
                       "  msg := \"never\"\n}\n"),),
                "policies/slow.rego:5:1", "did not finish within 1 s",
                command=("decide", "journal"), settings=(("policy_timeout_seconds", "1"),)),
    HostileCase("rego-timeout-zero", "8.8c", (), f"{SETTINGS}:7:1", "policy_timeout_seconds",
                settings=(("policy_timeout_seconds", "0"),)),
    HostileCase("rego-timeout-text", "8.8c", (), f"{SETTINGS}:7:1", "valid integer",
                settings=(("policy_timeout_seconds", '"10"'),)),
]

# --- issue 8 item 2: names that reach URL paths or comma-joined fields ------------------------

SUPA = "data/platforms/supabase/journal.yaml"
PROJECT = "projects/journal/project.yaml"
RLS = "    schemas: [public]"
PG_IDENT = "PostgreSQL identifier"
VERCEL_TARGET = "  vercel: {team: acme, project: journal-web}"
INFISICAL_TARGET = "{organization: acme, project: journal}"


def _schema(name: str, value: str, *, where: str = f"{SUPA}:16:15") -> HostileCase:
    return HostileCase(name, "8.2", (Replace(SUPA, RLS, f"    schemas: [{value}]"),),
                       where, PG_IDENT)


def _vercel(name: str, target: str, where: str, says: str) -> HostileCase:
    return HostileCase(name, "8.2", (Replace(PROJECT, VERCEL_TARGET, f"  vercel: {target}"),),
                       f"{PROJECT}:{where}", says)


NAMES = [
    HostileCase("supabase-schema-comma-rls-bypass", "8.2",
                (Replace(SUPA, RLS, '    schemas: ["public,auth"]\n'
                         'api:\n  schemas: ["public,auth"]'),),
                f"{SUPA}:18:13", PG_IDENT, command=("decide", "journal")),
    _schema("supabase-schema-comma-rls-only", '"public,auth"'),
    _schema("supabase-schema-space", '"public auth"'),
    _schema("supabase-schema-leading-space", '" public"'),
    _schema("supabase-schema-quote", "'pub\"lic'"),
    _schema("supabase-schema-semicolon", '"public;drop schema auth"'),
    _schema("supabase-schema-empty", '""'),
    _schema("supabase-schema-newline", '"a\\nb"'),
    _schema("supabase-schema-too-long", "s" * 64),
    _schema("supabase-schema-non-ascii", '"pùblic"'),
    HostileCase("supabase-redirect-comma", "8.2",
                (Replace(SUPA, "uri_allow_list: [https://journal.acme.example/auth/callback]",
                         'uri_allow_list: ["https://journal.acme.example/cb,'
                         'http://evil.example"]'),),
                f"{SUPA}:4:20", "comma"),
    _vercel("vercel-project-traversal", "{team: acme, project: a/../../v2/teams}", "6:24",
            "Vercel project"),
    _vercel("vercel-project-dotdot", "{team: acme, project: ..}", "6:24", "Vercel project"),
    _vercel("vercel-project-query", "{team: acme, project: 'web?teamId=x'}", "6:24",
            "Vercel project"),
    _vercel("vercel-project-encoded", "{team: acme, project: a%2F..%2Fb}", "6:24",
            "Vercel project"),
    _vercel("vercel-team-traversal", "{team: acme/../x, project: journal-web}", "6:12",
            "Vercel team"),
    _vercel("vercel-team-space", "{team: 'ac me', project: journal-web}", "6:12", "Vercel team"),
    HostileCase("infisical-project-traversal", "8.2",
                (Replace(PROJECT, INFISICAL_TARGET, "{organization: acme, project: ../x}"),),
                f"{PROJECT}:5:35", "slug"),
    HostileCase("infisical-organization-slash", "8.2",
                (Replace(PROJECT, INFISICAL_TARGET, "{organization: a/b, project: journal}"),),
                f"{PROJECT}:5:15", "slug"),
    HostileCase("supabase-organization-traversal", "8.2",
                (Replace(PROJECT, "supabase: {organization: acme}",
                         "supabase: {organization: ../acme}"),),
                f"{PROJECT}:7:14", "slug"),
    HostileCase("supabase-ref-traversal", "8.2",
                (Replace(PROJECT, "supabase: journalprodqzvtkwmrx",
                         "supabase: ../journalprodqzvtkw"),),
                f"{PROJECT}:12:5", "pattern"),
]

# --- issue 8 item 5: strict types ------------------------------------------------------------

IDS = "projects/journal/identities.yaml"


def _typed(name: str, rel: str, old: str, new: str, where: str, says: str) -> HostileCase:
    return HostileCase(name, "8.5", (Replace(rel, old, new),), f"{rel}:{where}", says)


TYPES = [
    _typed("jwt-exp-boolean", SUPA, "jwt_exp: 3600", "jwt_exp: true", "2:3", "valid integer"),
    _typed("jwt-exp-quoted", SUPA, "jwt_exp: 3600", 'jwt_exp: "3600"', "2:3", "valid integer"),
    _typed("jwt-exp-float", SUPA, "jwt_exp: 3600", "jwt_exp: 3600.5", "2:3", "valid integer"),
    _typed("rls-enforce-quoted-false", SUPA, "enforce: true", 'enforce: "false"', "15:5",
           "valid boolean"),
    _typed("rls-enforce-zero", SUPA, "enforce: true", "enforce: 0", "15:5", "valid boolean"),
    _typed("signup-yes-string", SUPA, "disable_signup: false", "disable_signup: 'yes'", "5:3",
           "valid boolean"),
    _typed("ttl-quoted", IDS, "access_token_ttl: 3600", 'access_token_ttl: "3600"', "8:9",
           "valid integer"),
    _typed("waiver-expiry-unix-time", "projects/journal/waivers.yaml", "expires: 2027-06-30",
           "expires: 1782777600", "5:5", "YYYY-MM-DD"),
]

# --- issue 8 item 6: public values -----------------------------------------------------------

VERCEL = "data/platforms/vercel/journal.yaml"
APP_NAME_VALUE = f"{VERCEL}:6:5"
FAKE_STRIPE = "sk_live_" + "cd7pdz1TtjraDWjyLqH93Ce4"  # made up, never a real key


def _public(name: str, value: str, rule: str) -> HostileCase:
    """NEXT_PUBLIC_APP_NAME set to ``value`` (YAML double-quoted escapes allowed)."""
    return HostileCase(name, "8.6", (Replace(VERCEL, "value: Journal", f'value: "{value}"'),),
                       APP_NAME_VALUE, rule, command=("decide", "journal"))


SECRET = "vercel.public-secret"
CHARS = "vercel.public-characters"
PUBLIC_VALUES = [
    _public("stripe-split-by-space", FAKE_STRIPE[:16] + " " + FAKE_STRIPE[16:], SECRET),
    _public("stripe-split-by-zwsp", FAKE_STRIPE[:16] + "\\u200b" + FAKE_STRIPE[16:], SECRET),
    _public("stripe-split-by-word-joiner", FAKE_STRIPE[:15] + "\\u2060" + FAKE_STRIPE[15:],
            SECRET),
    _public("stripe-split-by-soft-hyphen", FAKE_STRIPE[:17] + "\\u00ad" + FAKE_STRIPE[17:],
            SECRET),
    _public("stripe-split-by-newline", FAKE_STRIPE[:16] + "\\n" + FAKE_STRIPE[16:], SECRET),
    _public("forty-hex-not-a-commit", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b", SECRET),
    _public("nul-in-public-value", "Journal\\0", CHARS),
    _public("crlf-in-public-value", "Journal\\r\\nSet-Cookie: a=b", CHARS),
    _public("rlo-in-public-value", "Journal\\u202egnp.exe", CHARS),
    _public("lri-in-public-value", "\\u2066Journal\\u2069", CHARS),
    _public("bell-in-public-value", "Journal\\a", CHARS),
    _public("line-separator-in-public-value", "Jour\\Lnal", CHARS),
    _public("zwsp-in-public-value", "Jour\\u200bnal", CHARS),
    _public("escape-sequence-in-public-value", "\\e[31mJournal", CHARS),
]

CASES: list[HostileCase] = [*PATHS, *POLICIES, *NAMES, *TYPES, *PUBLIC_VALUES]
