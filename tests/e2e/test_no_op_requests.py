"""Once journal is applied, a plan reads each kind of object with one list request (no
per-object reads), and a second apply writes nothing and says every object is in sync."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import E2E

pytestmark = pytest.mark.integration

UUID = r"[0-9a-f-]{36}"
# One request per kind of object, in any order: (vendor, method, path pattern).
NO_OP_PLAN_REQUESTS = [
    # the universal-auth login with the client id and secret (what the sandbox prints, as
    # a real team's automation holds); the access token it returns serves the whole run
    ("infisical", "POST", r"/api/v1/auth/universal-auth/login"),
    ("infisical", "GET", r"/api/v1/projects/slug/journal"),  # the project lookup
    ("infisical", "GET", rf"/api/v1/projects/{UUID}/roles"),
    ("infisical", "GET", r"/api/v1/identities"),
    ("infisical", "GET", rf"/api/v1/projects/{UUID}/identity-memberships"),
    ("vercel", "GET", r"/v10/projects/journal-web/env"),
    ("supabase", "GET", r"/v1/projects/journalprodqzvtkwmrx/config/auth"),
    ("supabase", "GET", r"/v1/projects/journalprodqzvtkwmrx/postgrest"),  # exposed schemas
    ("supabase", "POST", r"/v1/projects/journalprodqzvtkwmrx/database/query/read-only"),
    ("supabase", "GET", r"/v1/projects/journalprodqzvtkwmrx/api-keys"),
    # the masked GitHub secret is compared through its HMAC, so its value is read once
    ("infisical", "GET", r"/api/v3/secrets/raw/GITHUB_OAUTH_SECRET"),
]


def test_no_op_plan_makes_one_list_request_per_kind_of_object(applied: E2E) -> None:
    log = applied.sandbox.request_log
    log.reset()
    result = applied.cli("plan", "journal")

    assert result.exit_code == 0, result.output
    seen = [(e.vendor, e.method, e.path) for e in log.entries()]
    unmatched = list(seen)
    for vendor, method, pattern in NO_OP_PLAN_REQUESTS:
        hits = [s for s in unmatched if s[:2] == (vendor, method) and re.fullmatch(pattern, s[2])]
        assert len(hits) == 1, f"{vendor} {method} {pattern}: {len(hits)} requests in {seen}"
        unmatched.remove(hits[0])
    assert unmatched == [], f"unexpected requests: {unmatched}"
    single_object = re.compile(
        rf"/api/v1/(identities|projects/roles|auth/universal-auth/identities)/{UUID}"
        rf"|/roles/(slug/)?[\w-]+$|/identity-memberships/{UUID}|/env/\w+$"
    )
    assert [s for s in seen if single_object.search(s[2])] == []


def test_second_apply_makes_no_write_and_reports_everything_in_sync(applied: E2E) -> None:
    log = applied.sandbox.request_log
    log.reset()
    result = applied.cli("apply", "journal")

    assert result.exit_code == 0, result.output
    assert log.write_count() == 0, [(w.method, w.path) for w in log.writes()]
    lines = result.stdout.splitlines()
    for line in (
        "  ✓ ProjectRole: runtime (prod) (in sync)",
        "  ✓ ProjectRole: ci (prod) (in sync)",
        "  ✓ MachineIdentity: token-service@journal-prod (prod) (in sync)",
        "  ✓ IdentityBinding: token-service-runtime-binding (in sync)",
        "  ✅ Applied: 0 resources",
        "  ✓ In sync: 6 resources",
        "  ✓ NEXT_PUBLIC_API_URL (production) is up to date",
        "  ✓ NEXT_PUBLIC_SUPABASE_URL is up to date",
        "  ✓ NEXT_PUBLIC_SUPABASE_ANON_KEY is up to date",
    ):
        assert line in lines, f"missing {line!r} in:\n{result.stdout}"
    assert not any(line.lstrip().startswith(("Applying ", "Setting ")) for line in lines)


def test_plan_drift_status_and_the_brief_count_the_same_objects(applied: E2E) -> None:
    """One count of each system's objects (engine.objects): Supabase's is its ref's auth
    settings and exposed schemas, the two tables converge secured and the two published
    variables, wherever it is shown."""
    import json

    def in_sync(*args: str) -> dict[str, int]:
        result = applied.cli(*args, "journal", "--output", "json")
        assert result.exit_code == 0, result.output
        [report] = json.loads(result.stdout)["plans" if args == ("plan",) else "reports"]
        return {s["system"]: s["in_sync"] for s in report["systems"]}

    status = applied.cli("--output", "json", "status", "journal")
    assert status.exit_code == 0, status.output
    [project] = json.loads(status.stdout)["projects"]
    managed = {s["system"]: s["managed_objects"] for s in project["systems"]}

    assert in_sync("plan") == in_sync("drift") == managed
    assert managed == {"infisical": 6, "vercel": 4, "supabase": 6}
    brief = applied.cli("apply", "journal", "--dry-run")
    assert f"  ✓ In sync: {managed['infisical']} resources" in brief.stdout.splitlines()
