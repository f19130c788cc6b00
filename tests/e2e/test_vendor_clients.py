"""After ``converge apply journal``, the vendors' own clients see the result: the Vercel CLI
lists the variables, PostgreSQL itself reports row-level security on every public table,
and the official Infisical SDK logs in with the credentials apply put into Vercel and can
read exactly what the identity's role allows."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from infisical_sdk import InfisicalSDKClient  # type: ignore[import-untyped]
from infisical_sdk.infisical_requests import APIError  # type: ignore[import-untyped]

from converge_sandbox.infisical.seed import secret_value
from tests.e2e.conftest import E2E, JOURNAL_SUPABASE_REF, VERCEL_BIN, vercel_cli_env_ls

pytestmark = pytest.mark.integration


@pytest.mark.conformance
@pytest.mark.skipif(not VERCEL_BIN.exists(), reason=f"Vercel CLI not installed at {VERCEL_BIN}")
def test_vercel_cli_lists_the_applied_journal_variables_with_their_targets(
    applied: E2E, tmp_path: Path
) -> None:
    result = vercel_cli_env_ls(applied, "journal-web", tmp_path)

    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    for key in (
        "NEXT_PUBLIC_API_URL",
        "NEXT_PUBLIC_APP_NAME",
        "INFISICAL_CLIENT_ID",
        "INFISICAL_CLIENT_SECRET",
        "NEXT_PUBLIC_SUPABASE_URL",
        "NEXT_PUBLIC_SUPABASE_ANON_KEY",
    ):
        assert key in rows, result.stdout
        assert "Production" in rows[key]
        assert "Preview" not in rows[key] and "Development" not in rows[key]
    for key in ("INFISICAL_CLIENT_ID", "INFISICAL_CLIENT_SECRET"):
        assert "Sensitive" in rows[key]
    assert applied.vercel_value("journal-web", "INFISICAL_CLIENT_SECRET") not in result.stdout


def test_postgres_reports_row_level_security_on_every_public_table(applied: E2E) -> None:
    with psycopg.connect(applied.database_url(JOURNAL_SUPABASE_REF)) as conn:
        rows = conn.execute(
            "SELECT c.relname, c.relrowsecurity FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname"
        ).fetchall()

    assert rows, "the seeded journal database has no public tables"
    assert [name for name, secured in rows if not secured] == []


@pytest.mark.conformance
def test_infisical_sdk_logs_in_with_the_credentials_apply_put_into_vercel(applied: E2E) -> None:
    # Vercel never returns a sensitive value over its API; the emulator's store is the
    # test harness's window onto what was sent.
    client_id = applied.vercel_value("journal-web", "INFISICAL_CLIENT_ID")
    client_secret = applied.vercel_value("journal-web", "INFISICAL_CLIENT_SECRET")
    project_id = applied.infisical_project_id("journal")
    sdk = InfisicalSDKClient(host=applied.sandbox.url("infisical"), cache_ttl=None)

    login = sdk.auth.universal_auth.login(client_id, client_secret)
    runtime = sdk.secrets.get_secret_by_name(
        secret_name="DATABASE_URL",
        project_id=project_id,
        environment_slug="prod",
        secret_path="/runtime",
    )
    with pytest.raises(APIError) as refused:
        sdk.secrets.get_secret_by_name(
            secret_name="DEPLOY_KEY",
            project_id=project_id,
            environment_slug="prod",
            secret_path="/ci",
        )

    assert login.accessToken
    assert runtime.secretValue == secret_value(
        applied.sandbox.world, "journal", "prod", "/runtime", "DATABASE_URL"
    )
    assert refused.value.status_code in (403, 404)
