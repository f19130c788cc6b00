"""The brief's entry points against a fresh sandbox: ``./scripts/reconcile-*`` run exactly as
the Makefile runs them print the brief's lines."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.conftest import REPO
from tests.e2e.conftest import E2E, base_env

pytestmark = pytest.mark.integration

INFISICAL_LINES = [
    "🔄 Reconciling Infisical resources for project: journal",
    "📋 Applying ProjectRoles...",
    "  Applying ProjectRole: runtime (prod)",
    "  Applying ProjectRole: ci (prod)",
    "🤖 Applying MachineIdentities...",
    "  Applying MachineIdentity: token-service@journal-prod (prod)",
    "  Applying MachineIdentity: ci@github-prod (prod)",
    "🔗 Applying IdentityBindings...",
    "  Applying IdentityBinding: token-service-runtime-binding",
    "    Identity: token-service@journal-prod -> Role: runtime",
    "📊 Reconciliation Summary:",
]
VERCEL_LINES = [
    "🔄 Reconciling Vercel environment for project: journal",
    "📋 Applying Public Environment Variables...",
    "  Setting NEXT_PUBLIC_API_URL (production)",
    "  Setting NEXT_PUBLIC_APP_NAME (production)",
    "🔐 Applying Server Environment Variables...",
    "  ✓ INFISICAL_CLIENT_ID is a reference (good)",
    "  ✓ INFISICAL_CLIENT_SECRET is a reference (good)",
    "✅ Vercel environment reconciliation complete!",
]
SUPABASE_LINES = [
    "🔄 Reconciling Supabase configuration for project: journal",
    "🔐 Applying Authentication Settings...",
    "  ✅ JWT configured: exp=3600s",
    "🗄️ Applying Database Settings...",
    "  ✅ RLS enforced: true",
    "🌍 Applying Environment Variables...",
    "  ✅ Setting NEXT_PUBLIC_SUPABASE_URL",
    "  ✅ Setting NEXT_PUBLIC_SUPABASE_ANON_KEY",
    "✅ Supabase reconciliation complete for project: journal",
]


def run_script(e2e: E2E, *command: str) -> subprocess.CompletedProcess[str]:
    """One of the brief's scripts, from the repository root, as the Makefile runs it."""
    return subprocess.run(
        list(command),
        cwd=REPO,
        env=base_env(CONVERGE_WORKSPACE=str(e2e.root)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_lines(output: str, expected: list[str]) -> None:
    lines = output.splitlines()
    missing = [line for line in expected if line not in lines]
    assert not missing, f"missing lines {missing} in:\n{output}"


def test_reconcile_scripts_print_the_briefs_lines_for_all_three_systems(e2e: E2E) -> None:
    infisical = run_script(e2e, "./scripts/reconcile-infisical.py", "journal")
    vercel = run_script(e2e, "./scripts/reconcile-vercel.sh", "journal")
    supabase = run_script(e2e, "./scripts/reconcile-supabase.py", "journal")

    assert infisical.returncode == 0, infisical.stderr
    assert_lines(infisical.stdout, INFISICAL_LINES)
    lines = infisical.stdout.splitlines()
    binding = lines.index("  Applying IdentityBinding: token-service-runtime-binding")
    assert lines[binding + 1] == "    Identity: token-service@journal-prod -> Role: runtime"
    assert any(re.fullmatch(r"  ✅ Applied: \d+ resources", line) for line in lines)
    # The brief's order: as declared in roles.yaml and identities.yaml.
    in_brief_order = [
        "  Applying ProjectRole: runtime (prod)",
        "  Applying ProjectRole: ci (prod)",
        "  Applying MachineIdentity: token-service@journal-prod (prod)",
        "  Applying MachineIdentity: ci@github-prod (prod)",
        "  Applying IdentityBinding: token-service-runtime-binding",
    ]
    positions = [lines.index(line) for line in in_brief_order]
    assert positions == sorted(positions), infisical.stdout
    assert vercel.returncode == 0, vercel.stderr
    assert_lines(vercel.stdout, VERCEL_LINES)
    assert supabase.returncode == 0, supabase.stderr
    assert_lines(supabase.stdout, SUPABASE_LINES)
    # Each script touched only its own system.
    assert "Vercel" not in infisical.stdout and "Supabase" not in infisical.stdout
    assert "Infisical resources" not in vercel.stdout

