"""User Rego policies: conftest-style deny/warn, the input document, located syntax errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from converge.errors import ConfigError, ConvergeError
from converge.policies.rego import build_input, evaluate_rego, load_policies, policy_digests
from tests.policies.helpers import brief, load, report, write

OWNERS = "policies/owners.rego"


def rego(workspace: Path, project: str) -> list[tuple[str, str, str, str]]:
    results = evaluate_rego(load(workspace, project),
                            policy_files=sorted((workspace / "policies").glob("*.rego")),
                            workspace_root=workspace)
    return [(r.rule, *b) for r, b in zip(results, brief(results), strict=True)]


def test_example_owner_policy_passes_when_owners_are_named(workspace: Path) -> None:
    assert rego(workspace, "journal") == [
        ("rego.converge.policy.deny", "pass", "project/journal", f"{OWNERS}:6:1"),
    ]


def test_example_owner_policy_denies_a_project_without_owners(workspace: Path) -> None:
    project = workspace / "projects/journal/project.yaml"
    project.write_text(project.read_text().replace("owners: [platform@acme.example]\n", ""))
    result = report(workspace, "journal")
    assert result.verdict == "deny"
    failure = [r for r in result.results if r.rule == "rego.converge.policy.deny"]
    assert [(r.status.value, r.message, str(r.location)) for r in failure] == [
        ("fail", "project journal has no owners", f"{OWNERS}:6:1"),
    ]


def test_deny_objects_carry_a_resource_and_warn_only_warns(workspace: Path) -> None:
    write(workspace, "policies/naming.rego", """
        package acme.naming

        import rego.v1

        warn contains msg if {
            some key, _ in input.vercel.public
            endswith(key, "_URL")
            msg := sprintf("%s: prefer _ENDPOINT", [key])
        }

        deny contains {"msg": msg, "resource": sprintf("identity/%s", [i.name])} if {
            some i in input.identities
            not i.description
            msg := "identity needs a description"
        }
        """)
    ids = workspace / "projects/journal/identities.yaml"
    ids.write_text(ids.read_text().replace(
        "    description: GitHub Actions deploy job\n", ""))
    found = [r for r in rego(workspace, "journal") if r[0].startswith("rego.acme")]
    assert found == [
        ("rego.acme.naming.deny", "fail", "identity/ci", "policies/naming.rego:11:1"),
        ("rego.acme.naming.warn", "warn", "project/journal", "policies/naming.rego:5:1"),
    ]
    result = report(workspace, "journal")
    statuses = {(r.rule, r.severity.value, r.status.value) for r in result.results
                if r.rule.startswith("rego.acme")}
    assert statuses == {("rego.acme.naming.deny", "error", "fail"),
                        ("rego.acme.naming.warn", "warning", "warn")}


def test_a_syntax_error_names_the_file_and_line(workspace: Path) -> None:
    write(workspace, "policies/broken.rego", """
        package broken

        import rego.v1

        deny contains msg if {
          msg :=
        }
        """)
    with pytest.raises(ConvergeError) as caught:
        report(workspace, "journal")
    assert isinstance(caught.value, ConfigError)
    assert str(caught.value.location) == "policies/broken.rego:6:7"
    assert "Rego syntax error" in caught.value.render()


def test_a_file_without_package_is_refused(workspace: Path) -> None:
    write(workspace, "policies/nopkg.rego", "deny contains 1 if { true }\n")
    with pytest.raises(ConfigError) as caught:
        load_policies([workspace / "policies/nopkg.rego"], workspace_root=workspace)
    assert str(caught.value.location) == "policies/nopkg.rego:1:1"


def test_an_unknown_function_is_a_located_evaluation_error(workspace: Path) -> None:
    write(workspace, "policies/typo.rego", """
        package typo

        import rego.v1

        deny contains msg if {
          msg := no_such_function(input.project.name)
        }
        """)
    with pytest.raises(ConfigError) as caught:
        report(workspace, "journal")
    assert str(caught.value.location) == "policies/typo.rego:5:1"
    assert "no_such_function" in caught.value.message


def test_input_document_has_the_designed_shape(workspace: Path) -> None:
    doc = build_input(load(workspace, "auth-service"))
    assert sorted(doc) == ["identities", "project", "roles", "supabase", "vercel", "waivers"]
    assert doc["project"]["owners"] == ["identity@acme.example"]
    assert doc["vercel"] is None
    assert doc["waivers"] == []
    assert [i["name"] for i in doc["identities"]] == ["session-api"]
    assert doc["supabase"]["auth"]["jwt_exp"] == 900


def test_policy_digests_are_sha256_of_the_file_bytes(workspace: Path) -> None:
    path = workspace / OWNERS
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    assert policy_digests([path], workspace_root=workspace) == {OWNERS: expected}
    assert policy_digests([]) == {}
