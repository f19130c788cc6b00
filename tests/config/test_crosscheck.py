"""Cross-file checks: every reference between a project's files resolves, or validate fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from converge.config.crosscheck import IdentityRef, SecretRef, check_references, parse_reference
from tests.policies.helpers import load, write

VERCEL = "data/platforms/vercel/journal.yaml"
SUPA = "data/platforms/supabase/journal.yaml"
PROJECT = "projects/journal/project.yaml"
IDS = "projects/journal/identities.yaml"
JOURNAL_PROJECT = """
    name: journal
    owners: [platform@acme.example]
    targets:
      infisical: {organization: acme, project: journal}
      vercel: {team: acme, project: journal-web}
      supabase: {organization: acme}
    environments:
      prod: {infisical: prod, vercel: [production], supabase: journalprodqzvtkwmrx}
"""


def errors(workspace: Path, project: str = "journal") -> list[tuple[str, str]]:
    """(rule, location) of every cross-file error."""
    return [(e.rule, str(e.location)) for e in check_references(load(workspace, project))]


@pytest.mark.parametrize("project", ["journal", "analytics", "auth-service"])
def test_examples_have_no_cross_file_errors(workspace: Path, project: str) -> None:
    assert errors(workspace, project) == []


def test_vercel_environment_must_be_declared(workspace: Path) -> None:
    write(workspace, VERCEL, """
        public:
          NEXT_PUBLIC_APP_NAME:
            value: Journal
            environments: [prod, staging]
        """)
    found = check_references(load(workspace, "journal"))
    assert [(e.rule, str(e.location)) for e in found] == [("schema", f"{VERCEL}:4:26")]
    assert "staging" in found[0].message


def test_vercel_entries_of_one_key_have_disjoint_environments(workspace: Path) -> None:
    write(workspace, VERCEL, """
        public:
          NEXT_PUBLIC_APP_NAME:
            - value: Journal
              environments: [prod]
            - value: Journal Beta
              environments: [prod]
        """)
    assert errors(workspace) == [("schema", f"{VERCEL}:6:22")]


def test_vercel_environment_needs_vercel_targets(workspace: Path) -> None:
    write(workspace, PROJECT, JOURNAL_PROJECT.rstrip() + "\n      qa: {infisical: qa}\n")
    write(workspace, VERCEL, """
        public:
          NEXT_PUBLIC_APP_NAME:
            value: Journal
            environments: [qa]
        """)
    assert errors(workspace) == [("schema", f"{VERCEL}:4:20")]


def test_two_environments_may_not_feed_one_vercel_target(workspace: Path) -> None:
    write(workspace, PROJECT, JOURNAL_PROJECT.rstrip() + "\n      qa: {infisical: qa, vercel: "
          "[production]}\n")
    write(workspace, VERCEL, """
        public:
          NEXT_PUBLIC_APP_NAME:
            value: Journal
            environments: [prod, qa]
        """)
    assert errors(workspace) == [("schema", f"{VERCEL}:4:26")]


@pytest.mark.parametrize(
    "ref",
    [
        "identity/token-service@journal-prod/password",
        "identity/token-service/client-id",
        "secret/prod/auth/bad name",
        "secret/prod/../GITHUB",
        "vault/prod/X",
    ],
)
def test_malformed_references_are_refused(workspace: Path, ref: str) -> None:
    write(workspace, VERCEL, f"""
        server:
          INFISICAL_CLIENT_ID:
            ref: "{ref}"
            environments: [prod]
        """)
    assert errors(workspace) == [("schema", f"{VERCEL}:3:5")]


def test_identity_reference_must_name_a_declared_identity(workspace: Path) -> None:
    write(workspace, VERCEL, """
        server:
          INFISICAL_CLIENT_ID:
            ref: identity/token-service@journal-preview/client-id
            environments: [prod]
          INFISICAL_CLIENT_SECRET:
            ref: identity/ci@github-prod/client-secret
            environments: [prod]
        """)
    assert errors(workspace) == [("schema", f"{VERCEL}:3:5")]


def test_secret_reference_must_name_a_declared_environment(workspace: Path) -> None:
    write(workspace, SUPA, """
        auth:
          providers:
            github:
              enabled: true
              client_id: Iv1.8a61f9b3a7aba766
              secret: {ref: secret/staging/auth/GITHUB_OAUTH_SECRET}
        """)
    assert errors(workspace) == [("schema", f"{SUPA}:6:16")]


def test_identity_environment_must_exist_and_have_an_infisical_slug(workspace: Path) -> None:
    write(workspace, PROJECT, JOURNAL_PROJECT.rstrip() + "\n      web: {vercel: [preview]}\n")
    write(workspace, IDS, """
        identities:
          - name: token-service
            environment: web
            auth: {universal: {access_token_ttl: 60, access_token_max_ttl: 60}}
          - name: other
            environment: nowhere
            auth: {universal: {access_token_ttl: 60, access_token_max_ttl: 60}}
        """)
    write(workspace, VERCEL, "public: {}\n")
    assert errors(workspace) == [("schema", f"{IDS}:3:5"), ("schema", f"{IDS}:6:5")]


def test_binding_to_an_undeclared_role_is_reported_as_role_exists(workspace: Path) -> None:
    ids = workspace / IDS
    ids.write_text(ids.read_text().replace("roles: [runtime]", "roles: [runtime, writer]"))
    found = check_references(load(workspace, "journal"))
    assert [(e.rule, str(e.location)) for e in found] == [("infisical.role-exists", f"{IDS}:5:22")]
    assert "writer" in found[0].message


def test_published_environment_must_exist_and_have_a_supabase_ref(workspace: Path) -> None:
    write(workspace, PROJECT, JOURNAL_PROJECT.rstrip() + "\n      preview: {infisical: staging, "
          "vercel: [preview]}\n")
    write(workspace, SUPA, """
        publish:
          vercel:
            NEXT_PUBLIC_SUPABASE_URL: {from: url, environments: [prod, preview, dev]}
        """)
    assert errors(workspace) == [("schema", f"{SUPA}:3:64"), ("schema", f"{SUPA}:3:73")]


def test_regions_and_rollout_waves_must_be_declared_once(workspace: Path) -> None:
    path = "projects/auth-service/project.yaml"
    text = (workspace / path).read_text()
    text = text.replace("us-east:\n    environments: {prod:", "us-east:\n    environments: {qa:")
    text = text.replace("waves: [[eu-west], [us-east]]",
                        "waves: [[eu-west], [us-east, eu-west], [ap]]")
    (workspace / path).write_text(text)
    assert errors(workspace, "auth-service") == [
        ("schema", f"{path}:14:20"),  # region us-east names environment qa
        ("schema", f"{path}:16:32"),  # eu-west in a second wave
        ("schema", f"{path}:16:43"),  # ap is not a region
    ]


def test_parse_reference_reads_both_kinds() -> None:
    assert parse_reference("identity/ci@github-prod/client-secret") == IdentityRef(
        identity="ci@github-prod", field="client-secret")
    assert parse_reference("secret/prod/auth/oauth/GITHUB_SECRET") == SecretRef(
        environment="prod", path="/auth/oauth", name="GITHUB_SECRET")
    assert parse_reference("secret/prod/ROOT_LEVEL") == SecretRef(
        environment="prod", path="/", name="ROOT_LEVEL")
    assert parse_reference("secret//X") is None


def test_adopt_entries_must_name_declared_objects_once(workspace: Path) -> None:
    write(workspace, PROJECT, JOURNAL_PROJECT + """
    adopt:
      - role/runtime-prod
      - identity/ci@github-prod
      - vercel/NEXT_PUBLIC_APP_NAME
      - role/runtime-staging
      - vercel/NEXT_PUBLIC_NOPE
      - role/runtime-prod
    """)
    found = check_references(load(workspace, "journal"))
    assert [str(e.location) for e in found] == [
        f"{PROJECT}:14:5", f"{PROJECT}:15:5", f"{PROJECT}:16:5"]
    assert "roles.yaml does not declare" in found[0].message
    assert "the Vercel file does not declare" in found[1].message
    assert "twice" in found[2].message


def test_adopt_entries_follow_the_resource_naming(workspace: Path) -> None:
    from converge.errors import ConfigErrors

    write(workspace, PROJECT, JOURNAL_PROJECT + """
    adopt: [binding/token-service-runtime-binding]
    """)
    with pytest.raises(ConfigErrors) as caught:
        load(workspace, "journal")
    assert "role/<slug>" in caught.value.errors[0].message


def test_a_placeholder_reference_says_it_must_be_replaced(workspace: Path) -> None:
    write(workspace, VERCEL, """
        server:
          INFISICAL_API_KEY:
            ref: placeholder/INFISICAL_API_KEY
            environments: [prod]
        """)
    found = check_references(load(workspace, "journal"))
    assert [(e.rule, str(e.location)) for e in found] == [("schema", f"{VERCEL}:3:5")]
    assert "placeholder left by converge import" in found[0].message
