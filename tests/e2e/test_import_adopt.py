"""``converge import`` of objects converge does not manage yet, against a fresh sandbox:
a role, an identity (with universal auth and a role binding) and a public Vercel
variable made by hand are imported, listed under ``adopt:``, and the first apply only
sets converge's markers (values, permissions and settings unchanged); the plan after it
is empty. A Vercel variable whose reference cannot be recovered becomes a placeholder
that ``validate`` refuses, with one line in the report."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from converge.vendors.http import RequestCounter
from converge.vendors.infisical.client import InfisicalClient
from converge.vendors.vercel.client import ProjectScope, VercelClient
from converge.vendors.vercel.ownership import Ownership, compose_comment
from converge.vendors.vercel.wire import NewEnvVar
from tests.conftest import CliResult
from tests.e2e.conftest import E2E, run_in_process

pytestmark = pytest.mark.integration

E2E_PROJECTS: tuple[str, ...] = ()
KEY = "6a" * 32
SCOPE = ProjectScope("acme", "journal-web")
IDENTITY = "token-service@journal-prod"
IMPORT = ("import", "journal", "--infisical-project", "journal", "--organization", "acme",
          "--vercel-project", "journal-web", "--vercel-team", "acme")
RULES = [{"subject": "secrets", "action": ["describeSecret", "readValue"], "inverted": False,
          "conditions": {"environment": {"$eq": "prod"},
                         "secretPath": {"$glob": "/runtime/**"}}}]


def infisical_client(e2e: E2E) -> InfisicalClient:
    return InfisicalClient.from_environment(e2e.env, counter=RequestCounter())


def vercel_client(e2e: E2E) -> VercelClient:
    return VercelClient.from_environment(e2e.env, counter=RequestCounter())


@pytest.fixture(scope="module")
def by_hand(e2e: E2E) -> E2E:
    """What a team made in the dashboards before adopting converge."""
    client = infisical_client(e2e)
    project = client.get_project("journal")
    client.create_role(project.id, {"slug": "runtime-prod", "name": "runtime (prod)",
                                    "description": "Runtime secrets, made by hand",
                                    "permissions": RULES})
    row = client.create_identity(name=IDENTITY, org_id=project.orgId,
                                 metadata=[{"key": "team", "value": "web"}],
                                 is_ours=lambda _: False)
    client.attach_universal_auth(row.id, {
        "accessTokenTTL": 1800, "accessTokenMaxTTL": 7200, "accessTokenNumUsesLimit": 0,
        "clientSecretTrustedIps": [{"ipAddress": "10.0.0.0/8"}],
        "accessTokenTrustedIps": [{"ipAddress": "0.0.0.0/0"}]})
    client.create_membership(project.id, row.id, ["runtime-prod"])
    client.close()
    vercel = vercel_client(e2e)
    vercel.create_env(SCOPE, [NewEnvVar(key="NEXT_PUBLIC_APP_NAME", value="Journal",
                                        type="plain", target=["production"],
                                        comment="set by hand")], upsert=False)
    vercel.close()
    return e2e


def empty_workspace(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "converge.yaml").write_text("target: live\n")
    return root


def run(e2e: E2E, root: Path, *args: str) -> CliResult:
    return run_in_process(root, *args, env=e2e.live_env(CONVERGE_FINGERPRINT_KEY=KEY))


def live_state(e2e: E2E) -> dict[str, Any]:
    """The values adoption must not change, read through the vendors' APIs."""
    client = infisical_client(e2e)
    project = client.get_project("journal")
    role = client.get_role(project.id, "runtime-prod")
    identity = next(r for r in client.list_identities(project.orgId)
                    if r.identity.name == IDENTITY)
    detail = client.get_identity(identity.identity.id)
    ua = client.get_universal_auth(identity.identity.id)
    membership = client.get_membership(project.id, identity.identity.id)
    client.close()
    vercel = vercel_client(e2e)
    (env,) = [e for e in vercel.list_env(SCOPE) if e.key == "NEXT_PUBLIC_APP_NAME"]
    vercel.close()
    assert role is not None and detail is not None and ua is not None
    assert membership is not None
    return {
        "role": (role.name, role.permissions, role.description),
        "identity": detail.metadata,
        "ua": ua.model_dump(exclude={"updatedAt"}),
        "bindings": membership.role_slugs(),
        "vercel": (env.id, env.value, env.type, env.target, env.comment),
    }


@pytest.fixture
def imported(by_hand: E2E, tmp_path: Path) -> Iterator[tuple[E2E, Path, CliResult]]:
    root = empty_workspace(tmp_path / "imported")
    yield by_hand, root, run(by_hand, root, *IMPORT)


def test_unmanaged_objects_are_listed_for_adoption_and_the_first_apply_only_marks_them(
    imported: tuple[E2E, Path, CliResult],
) -> None:
    e2e, root, result = imported
    assert result.exit_code == 0, result.output
    project = yaml.safe_load((root / "projects/journal/project.yaml").read_text())
    assert project["adopt"] == ["role/runtime-prod", f"identity/{IDENTITY}",
                                "vercel/NEXT_PUBLIC_APP_NAME"]
    assert "  & infisical: role runtime-prod: not managed by converge yet" in result.stdout
    assert "3 to adopt on the next apply" in result.stdout
    identities = yaml.safe_load((root / "projects/journal/identities.yaml").read_text())
    assert identities["identities"] == [{
        "name": "token-service", "environment": "prod", "roles": ["runtime"],
        "auth": {"universal": {"access_token_ttl": 1800, "access_token_max_ttl": 7200,
                               "client_secret_trusted_ips": ["10.0.0.0/8"]}}}]
    for step in ("decide", "render"):
        assert run(e2e, root, step, "journal").exit_code == 0
    before = live_state(e2e)

    planned = run(e2e, root, "plan", "journal")
    assert planned.exit_code == 2, planned.output
    assert "Plan: 0 to create, 0 to update, 0 to delete, 3 to adopt, 0 conflicts." in (
        planned.stdout)

    log = e2e.sandbox.request_log
    log.reset()
    applied = run(e2e, root, "apply", "journal")
    assert applied.exit_code == 0, applied.output
    writes = sorted((w.vendor, w.method) for w in log.writes())
    assert writes == [("infisical", "PATCH"), ("infisical", "PATCH"), ("vercel", "POST")], (
        [(w.vendor, w.method, w.path) for w in log.writes()])

    after = live_state(e2e)
    name, permissions, description = after["role"]
    assert (name, permissions) == before["role"][:2]
    assert description == "Runtime secrets, made by hand [managed by converge: acme/journal]"
    assert after["ua"] == before["ua"] and after["bindings"] == before["bindings"]
    assert {(m.key, m.value) for m in after["identity"]} == {
        ("team", "web"), ("converge.managed-by", "acme/journal")}
    env_id, value, env_type, targets, comment = after["vercel"]
    assert (env_id, value, env_type, targets) == before["vercel"][:4]
    assert comment.startswith("set by hand converge:managed owner=vercel project=journal ")

    again = run(e2e, root, "plan", "journal")
    assert again.exit_code == 0, again.output
    assert "Plan: 0 to create, 0 to update, 0 to delete, 0 to adopt, 0 conflicts." in (
        again.stdout)


def test_a_vercel_reference_that_cannot_be_recovered_is_a_placeholder_validate_refuses(
    by_hand: E2E, tmp_path: Path
) -> None:
    vercel = vercel_client(by_hand)
    # converge's marker, with the digest of a reference none of the project's identities
    # or secrets has; and a secret value converge never managed (no digest at all)
    stray = Ownership(owner="vercel", project="journal", ref="0123456789ab", fp="f" * 24)
    created = vercel.create_env(SCOPE, [
        NewEnvVar(key="INFISICAL_API_KEY", value="s3cr3t-value-never-read", type="sensitive",
                  target=["production"], comment=compose_comment(None, stray)),
        NewEnvVar(key="INFISICAL_TOKEN", value="another-secret-never-read", type="sensitive",
                  target=["production"]),
    ], upsert=False)
    try:
        root = empty_workspace(tmp_path / "imported")
        result = run(by_hand, root, *IMPORT)

        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert ("  ? vercel: INFISICAL_API_KEY (production): the reference in its marker "
                "matches none of the project's identities and secrets; replace "
                "placeholder/INFISICAL_API_KEY with its reference") in lines
        assert any(line.startswith("  ? vercel: INFISICAL_TOKEN (production): it is not "
                                   "managed by converge") for line in lines)
        text = (root / "data/platforms/vercel/journal.yaml").read_text()
        assert ("    ref: placeholder/INFISICAL_API_KEY  # converge import: replace with the "
                "real reference") in text.splitlines()
        assert "s3cr3t" not in result.output + text
        assert "validate: data/platforms/vercel/journal.yaml:" in result.stdout
        validate = run(by_hand, root, "validate", "journal")
        assert validate.exit_code == 1
        assert "placeholder left by converge import" in validate.stdout
    finally:
        for env in created.created:
            vercel.delete_env(SCOPE, env.id)
        vercel.close()


def test_another_projects_objects_are_left_out(by_hand: E2E, tmp_path: Path) -> None:
    """Objects whose markers name another converge project are never written (an import
    under another name would otherwise take them over)."""
    infisical = infisical_client(by_hand)
    project = infisical.get_project("journal")
    infisical.create_role(project.id, {
        "slug": "reader-prod", "name": "reader (prod)",
        "description": "[managed by converge: acme/other]", "permissions": RULES})
    infisical.close()
    root = empty_workspace(tmp_path / "imported")

    result = run(by_hand, root, *IMPORT)

    assert result.exit_code == 0, result.output
    assert ("  - infisical: role reader-prod: managed by converge for acme/other, not "
            "acme/journal; left out") in result.stdout.splitlines()
    roles = yaml.safe_load((root / "data/infisical/journal/roles.yaml").read_text())["roles"]
    assert [r["name"] for r in roles] == ["runtime"]


def test_tables_without_rls_are_imported_as_they_are_and_decide_refuses_them(
    by_hand: E2E, tmp_path: Path
) -> None:
    """The seed's journal database has tables without RLS: the import says so instead of
    promising RLS the database does not have, and the supabase.rls policy refuses it."""
    root = empty_workspace(tmp_path / "imported")

    result = run(by_hand, root, "import", "journal", "--organization", "acme",
                 "--supabase-ref", "journalprodqzvtkwmrx")

    assert result.exit_code == 0, result.output
    refused = [line for line in result.stdout.splitlines()
               if line.startswith("  ! supabase: row-level security: off on ")]
    assert len(refused) == 1 and "public.profiles" in refused[0]
    supabase = yaml.safe_load((root / "data/platforms/supabase/journal.yaml").read_text())
    # Supabase's default Data API exposes graphql_public too; every exposed schema needs RLS
    assert supabase["database"]["rls"] == {"enforce": False,
                                           "schemas": ["public", "graphql_public"]}
    assert supabase["api"] == {"schemas": ["public", "graphql_public"]}
    decided = run(by_hand, root, "decide", "journal")
    assert decided.exit_code == 1
    assert "supabase.rls error data/platforms/supabase/journal.yaml:" in decided.stdout
