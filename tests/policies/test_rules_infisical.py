"""Built-in Infisical rules: each passes on the example and fails, located, on a bad edit."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.policies.helpers import brief, builtin, failing, write

IDS = "projects/journal/identities.yaml"
ROLES = "data/infisical/journal/roles.yaml"
TOKEN_SERVICE = """
    identities:
      - name: token-service
        environment: prod
        roles: [runtime]
        auth:
          universal:
            access_token_ttl: 3600
            access_token_max_ttl: 86400
"""


def test_names_pass_when_unique(workspace: Path) -> None:
    results = builtin(workspace, "journal", "infisical.names")
    assert brief(results) == [
        ("pass", "identity/ci@github-prod", f"{IDS}:10:5"),
        ("pass", "identity/token-service@journal-prod", f"{IDS}:2:5"),
        ("pass", "role/ci-prod", f"{ROLES}:9:5"),
        ("pass", "role/runtime-prod", f"{ROLES}:2:5"),
    ]


def test_names_fail_on_a_duplicate_identity(workspace: Path) -> None:
    write(workspace, IDS, TOKEN_SERVICE + """\
      - name: token-service
        environment: prod
        auth:
          universal: {access_token_ttl: 60, access_token_max_ttl: 60}
    """)
    results = builtin(workspace, "journal", "infisical.names")
    assert failing(results) == [("fail", "identity/token-service@journal-prod", f"{IDS}:9:5")]


def test_names_fail_on_a_duplicate_role(workspace: Path) -> None:
    write(workspace, ROLES, """
        roles:
          - name: runtime
            environment: prod
            permissions: [{subject: secrets, actions: [read]}]
          - name: runtime
            environment: prod
            permissions: [{subject: secrets, actions: [read]}]
        """)
    results = builtin(workspace, "journal", "infisical.names")
    assert failing(results) == [("fail", "role/runtime-prod", f"{ROLES}:5:5")]


def test_role_exists_passes_for_declared_roles(workspace: Path) -> None:
    assert [r[:2] for r in brief(builtin(workspace, "journal", "infisical.role-exists"))] == [
        ("pass", "binding/ci-ci-binding"), ("pass", "binding/token-service-runtime-binding"),
    ]


def test_role_exists_fails_on_a_binding_to_an_undeclared_role(workspace: Path) -> None:
    write(workspace, IDS, """
        identities:
          - name: token-service
            environment: prod
            roles: [runtime, writer]
            auth:
              universal: {access_token_ttl: 60, access_token_max_ttl: 60}
        """)
    results = builtin(workspace, "journal", "infisical.role-exists")
    assert failing(results) == [("fail", "binding/token-service-writer-binding", f"{IDS}:4:22")]


def test_ttl_passes_within_bounds(workspace: Path) -> None:
    results = builtin(workspace, "journal", "infisical.ttl")
    assert ("pass", "identity/token-service@journal-prod", f"{IDS}:8:9") in brief(results)


@pytest.mark.parametrize(
    ("ttl", "max_ttl", "line"),
    [(7200, 3600, 6), (0, 3600, 6), (3600, 31 * 24 * 3600, 7)],
    ids=["ttl-above-max", "ttl-zero", "max-above-30-days"],
)
def test_ttl_fails_out_of_bounds(workspace: Path, ttl: int, max_ttl: int, line: int) -> None:
    write(workspace, IDS, f"""
        identities:
          - name: token-service
            environment: prod
            auth:
              universal:
                access_token_ttl: {ttl}
                access_token_max_ttl: {max_ttl}
        """)
    results = builtin(workspace, "journal", "infisical.ttl")
    assert failing(results) == [("fail", "identity/token-service@journal-prod", f"{IDS}:{line}:9")]


def test_admin_role_passes_for_read_only_roles(workspace: Path) -> None:
    results = builtin(workspace, "journal", "infisical.admin-role")
    assert {r.status.value for r in results} == {"pass"}


def test_admin_role_warns_when_a_bound_role_may_edit_roles(workspace: Path) -> None:
    write(workspace, ROLES, """
        roles:
          - name: runtime
            environment: prod
            permissions:
              - subject: secrets
                actions: [read]
              - subject: role
                actions: [read, edit]
          - name: ci
            environment: prod
            permissions: [{subject: member, actions: [create]}]
        """)
    write(workspace, IDS, TOKEN_SERVICE)
    results = builtin(workspace, "journal", "infisical.admin-role")
    assert brief(results) == [
        ("pass", "role/ci-prod", f"{ROLES}:9:5"),  # grants admin, but no identity holds it
        ("warn", "role/runtime-prod", f"{ROLES}:7:9"),
    ]
    assert results[1].severity.value == "warning"


def test_admin_role_warns_on_a_bound_role_named_admin(workspace: Path) -> None:
    write(workspace, ROLES, """
        roles:
          - name: admin
            environment: prod
            permissions: [{subject: secrets, actions: [read]}]
        """)
    write(workspace, IDS, TOKEN_SERVICE.replace("[runtime]", "[admin]"))
    results = builtin(workspace, "journal", "infisical.admin-role")
    assert failing(results) == [("warn", "role/admin-prod", f"{ROLES}:2:5")]


def test_trusted_ips_pass_when_limited(workspace: Path) -> None:
    results = builtin(workspace, "journal", "infisical.trusted-ips-open")
    assert ("pass", "identity/ci@github-prod", f"{IDS}:19:9") in brief(results)


def test_trusted_ips_warn_when_unset_in_prod(workspace: Path) -> None:
    results = builtin(workspace, "journal", "infisical.trusted-ips-open")
    assert ("warn", "identity/token-service@journal-prod", f"{IDS}:7:7") in brief(results)


@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "::/0"])
def test_trusted_ips_warn_on_an_open_range_in_prod(workspace: Path, cidr: str) -> None:
    write(workspace, IDS, TOKEN_SERVICE + f"""\
            client_secret_trusted_ips:
              - 10.0.0.0/8
              - "{cidr}"
    """)
    results = builtin(workspace, "journal", "infisical.trusted-ips-open")
    assert failing(results) == [("warn", "identity/token-service@journal-prod", f"{IDS}:11:13")]


def test_trusted_ips_pass_outside_prod(workspace: Path) -> None:
    results = builtin(workspace, "analytics", "infisical.trusted-ips-open")
    assert ("pass", "identity/dashboard@analytics-preview",
            "projects/analytics/identities.yaml:11:7") in brief(results)


def test_bindings_shared_by_name_across_environments_get_distinct_resources(
    workspace: Path,
) -> None:
    results = builtin(workspace, "analytics", "infisical.role-exists")
    assert [r.resource for r in results] == [
        "binding/dashboard@analytics-preview-reader-binding",
        "binding/dashboard@analytics-prod-reader-binding",
    ]
