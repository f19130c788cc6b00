"""The whole policy evaluation: example verdicts, waivers, ordering and the report fields."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from converge.policies.builtin import BUILTIN_VERSION
from converge.policies.context import BUILTIN_RULES
from converge.policies.results import Status
from tests.policies.helpers import brief, report, write

IDS = "projects/journal/identities.yaml"
WAIVERS = "projects/journal/waivers.yaml"
TRUSTED = ("infisical.trusted-ips-open", "identity/token-service@journal-prod")


def test_journal_allows_with_the_trusted_ips_warning_waived(workspace: Path) -> None:
    result = report(workspace, "journal")
    assert result.verdict == "allow"
    not_passed = [(r.rule, r.resource, r.status.value) for r in result.results
                  if r.status is not Status.PASS]
    assert not_passed == [(*TRUSTED, "waived")]
    waived = next(r for r in result.results if r.status is Status.WAIVED)
    assert str(waived.location) == f"{IDS}:7:7"
    assert "Vercel functions have no fixed egress addresses" in waived.message


def test_analytics_and_auth_service_allow(workspace: Path) -> None:
    assert report(workspace, "analytics").verdict == "allow"
    assert report(workspace, "auth-service").verdict == "allow"


def test_every_builtin_rule_reports_on_the_examples(workspace: Path) -> None:
    rules = {r.rule for p in ("journal", "analytics", "auth-service")
             for r in report(workspace, p).results}
    assert set(BUILTIN_RULES) <= rules


def test_an_expired_waiver_fails_and_waives_nothing(workspace: Path) -> None:
    write(workspace, WAIVERS, """
        waivers:
          - rule: infisical.trusted-ips-open
            resource: identity/token-service@journal-prod
            reason: Vercel functions have no fixed egress addresses
            expires: 2026-11-25
        """)
    result = report(workspace, "journal", today=dt.date(2026, 11, 26))
    assert result.verdict == "deny"
    assert [b for b in brief(list(result.results)) if b[0] != "pass"] == [
        ("warn", TRUSTED[1], f"{IDS}:7:7"),
        ("fail", "waiver/infisical.trusted-ips-open/identity/token-service@journal-prod",
         f"{WAIVERS}:5:5"),
    ]


def test_a_waiver_is_valid_through_its_expiry_day(workspace: Path) -> None:
    result = report(workspace, "journal", today=dt.date(2027, 6, 30))
    assert result.verdict == "allow"
    assert report(workspace, "journal", today=dt.date(2027, 7, 1)).verdict == "deny"


def test_a_waiver_turns_a_failure_into_waived_and_allows(workspace: Path) -> None:
    write(workspace, "data/platforms/supabase/journal.yaml", """
        auth:
          jwt_exp: 172800
        """)
    assert report(workspace, "journal").verdict == "deny"
    write(workspace, WAIVERS, """
        waivers:
          - rule: infisical.trusted-ips-open
            resource: identity/token-service@journal-prod
            reason: Vercel functions have no fixed egress addresses
            expires: 2027-06-30
          - rule: supabase.jwt-exp
            resource: supabase/auth
            reason: long sessions for the kiosk app until SSO lands
            expires: 2027-01-31
        """)
    result = report(workspace, "journal")
    assert result.verdict == "allow"
    jwt_exp = [r for r in result.results if r.rule == "supabase.jwt-exp"]
    assert [r.status for r in jwt_exp] == [Status.WAIVED]


def test_a_failure_denies_the_verdict(workspace: Path) -> None:
    write(workspace, "data/platforms/supabase/journal.yaml", """
        auth:
          jwt_exp: 172800
        """)
    result = report(workspace, "journal")
    assert result.verdict == "deny"
    failures = [(r.rule, r.resource) for r in result.failures]
    assert failures == [("supabase.jwt-exp", "supabase/auth")]


def test_report_is_sorted_deterministic_and_records_versions(workspace: Path) -> None:
    first, second = report(workspace, "journal"), report(workspace, "journal")
    assert first == second
    keys = [r.sort_key() for r in first.results]
    assert keys == sorted(keys)
    assert first.builtin_version == BUILTIN_VERSION
    policy = workspace / "policies" / "owners.rego"
    assert first.user_policies == {
        "policies/owners.rego": hashlib.sha256(policy.read_bytes()).hexdigest(),
    }
    assert [w.rule for w in first.waivers] == ["infisical.trusted-ips-open"]
    assert first.counts() == {"pass": len(first.results) - 1, "fail": 0, "warn": 0, "waived": 1}
