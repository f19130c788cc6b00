"""Every rule id, broken once: `converge decide` prints that id with the right file:line:col.

Each case edits one example file; the expected location is found by searching the edited
file for the text the finding must point at, so the test states *what* is located.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import CliResult

VERCEL = "data/platforms/vercel/journal.yaml"
SUPABASE = "data/platforms/supabase/journal.yaml"
IDENTITIES = "projects/journal/identities.yaml"
ROLES = "data/infisical/journal/roles.yaml"
PROJECT = "projects/journal/project.yaml"
WAIVERS = "projects/journal/waivers.yaml"
FAKE_STRIPE_SECRET = "sk_live_" + "cd7pdz1TtjraDWjyLqH93Ce4"  # made up, never a real key


@dataclass(frozen=True)
class Case:
    rule: str
    severity: str
    file: str
    old: str
    new: str
    points_at: str  # text in the edited file the finding is located at (first occurrence)
    command: str = "decide"
    located_in: str = ""  # when the finding points into another file than the edited one


CASES = [
    Case(
        "schema",
        "error",
        IDENTITIES,
        "    roles: [runtime]",
        "    rolez: [runtime]",
        "rolez",
        "validate",
    ),
    Case(
        "vercel.public-prefix",
        "error",
        VERCEL,
        "  NEXT_PUBLIC_APP_NAME:",
        "  APP_NAME:",
        "APP_NAME:",
    ),
    Case(
        "vercel.public-secret",
        "error",
        VERCEL,
        "value: Journal",
        f"value: {FAKE_STRIPE_SECRET}",
        f"value: {FAKE_STRIPE_SECRET}",
    ),
    Case(
        "vercel.public-characters",
        "error",
        VERCEL,
        "value: Journal",
        'value: "Journal\\u202e"',
        'value: "Journal',
    ),
    Case(
        "vercel.server-reference",
        "error",
        VERCEL,
        "    ref: identity/token-service@journal-prod/client-id",
        "    value: not-a-reference",
        "value: not-a-reference",
    ),
    Case("supabase.jwt-exp", "error", SUPABASE, "jwt_exp: 3600", "jwt_exp: 100000", "jwt_exp"),
    Case("supabase.rls", "error", SUPABASE, "enforce: true", "enforce: false", "enforce"),
    Case(
        "supabase.service-role-exposed",
        "error",
        SUPABASE,
        "{from: anon_key,",
        "{from: service_role_key,",
        "from: service_role_key",
    ),
    Case(
        "supabase.publish-allowed",
        "error",
        SUPABASE,
        "    NEXT_PUBLIC_SUPABASE_URL:",
        "    SUPABASE_URL:",
        "SUPABASE_URL:",
    ),
    Case(
        "supabase.provider-secret",
        "error",
        SUPABASE,
        "secret: {ref: secret/prod/auth/GITHUB_OAUTH_SECRET}",
        "secret: plain-text-secret",
        "secret: plain",
    ),
    Case(
        "supabase.https-urls",
        "error",
        SUPABASE,
        "site_url: https://journal",
        "site_url: http://journal",
        "site_url",
    ),
    Case(
        "infisical.names",
        "error",
        IDENTITIES,
        "        client_secret_trusted_ips: [140.82.112.0/20]\n",
        "        client_secret_trusted_ips: [140.82.112.0/20]\n"
        "  - {name: ci, scope: github, environment: prod, roles: [ci],"
        " auth: {universal: {access_token_ttl: 60, access_token_max_ttl: 120}}}\n",
        "name: ci, scope",
    ),
    Case(
        "infisical.role-exists",
        "error",
        IDENTITIES,
        "roles: [runtime]",
        "roles: [runtime, auditor]",
        "auditor",
        "validate",
    ),
    Case(
        "infisical.ttl",
        "error",
        IDENTITIES,
        "access_token_ttl: 3600",
        "access_token_ttl: 90000",
        "access_token_ttl: 90000",
    ),
    Case(
        "infisical.admin-role",
        "warning",
        ROLES,
        "        conditions: {secret_path: /ci/**}",
        "        conditions: {secret_path: /ci/**}\n"
        "      - subject: identity\n"
        "        actions: [read, create, edit, delete]",
        "subject: identity",
    ),
    Case(
        "infisical.trusted-ips-open",
        "warning",
        IDENTITIES,
        "client_secret_trusted_ips: [140.82.112.0/20]",
        "client_secret_trusted_ips: [0.0.0.0/0]",
        "0.0.0.0/0",
    ),
    Case(
        "waiver.expired", "error", WAIVERS, "expires: 2027-06-30", "expires: 2020-01-31", "expires"
    ),
    # A user policy's finding points at the Rego rule that produced it.
    Case(
        "rego.converge.policy.deny",
        "error",
        PROJECT,
        "owners: [platform@acme.example]",
        "owners: []",
        "deny contains msg if",
        located_in="policies/owners.rego",
    ),
]


def _location(path: Path, rel: str, text: str) -> str:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if text in line:
            return f"{rel}:{number}:{line.index(text) + 1}"
    raise AssertionError(f"{text!r} not in {rel}")


@pytest.mark.parametrize("case", CASES, ids=[c.rule for c in CASES])
def test_rule_failure_is_printed_with_id_and_location(
    case: Case, workspace: Path, run_cli: Callable[..., CliResult]
) -> None:
    path = workspace / case.file
    text = path.read_text()
    assert case.old in text, case.old
    path.write_text(text.replace(case.old, case.new, 1))
    result = run_cli("--workspace", str(workspace), case.command, "journal")
    where = case.located_in or case.file
    location = _location(workspace / where, where, case.points_at)
    expected = f"{case.rule} {case.severity} {location} "
    assert any(line.startswith(expected) for line in result.stdout.splitlines()), (
        f"expected a line starting {expected!r}\n{result.output}"
    )
    assert "Traceback" not in result.output
    if case.severity == "error":
        assert result.exit_code == 1
    else:
        assert result.exit_code == 0
        assert "journal: allow" in result.stdout


def test_every_rule_id_has_a_printed_case() -> None:
    from converge.policies.builtin import BUILTIN_RULES

    covered = {c.rule for c in CASES}
    assert set(BUILTIN_RULES) <= covered, set(BUILTIN_RULES) - covered
