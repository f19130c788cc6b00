"""Infisical roles and identities into roles.yaml and identities.yaml (the pure part):
rules turned back into the workspace's vocabulary only when they round-trip exactly,
managed objects always written, unmanaged ones listed for adoption, others left out."""

from __future__ import annotations

from typing import Any

import pytest

from converge.importer.findings import Findings
from converge.importer.infisical import (
    InfisicalSnapshot,
    MemberIdentity,
    convert_rule,
    rendered_rules,
    translate_infisical,
    universal_auth_entry,
)
from converge.vendors.infisical import wire
from converge.vendors.infisical.normalise import normalise_rules

OWNER = "acme/journal"
PROD = {"environment": {"$eq": "prod"}}


def rule(actions: Any, **conditions: Any) -> dict[str, Any]:
    return {"subject": "secrets", "action": actions, "inverted": False,
            "conditions": {**PROD, **conditions}}


def role(slug: str, name: str, description: str | None, *rules: dict[str, Any]) -> wire.Role:
    return wire.Role(id=f"id-{slug}", slug=slug, name=name, description=description,
                     permissions=list(rules))


def ua(**fields: Any) -> wire.UniversalAuth:
    base: dict[str, Any] = {"id": "ua", "clientId": "cid", "accessTokenTTL": 3600,
                            "accessTokenMaxTTL": 86400,
                            "clientSecretTrustedIps": [{"ipAddress": "0.0.0.0", "prefix": 0}],
                            "accessTokenTrustedIps": [{"ipAddress": "0.0.0.0", "prefix": 0}]}
    return wire.UniversalAuth.model_validate({**base, **fields})


def member(name: str, *roles: str, owner: str | None = OWNER,
           universal: wire.UniversalAuth | None = None,
           methods: tuple[str, ...] = ("universal-auth",)) -> MemberIdentity:
    metadata = (("converge.managed-by", owner),) if owner else ()
    assigned = tuple(wire.MembershipRole(role="custom", customRoleSlug=r)
                     if r not in ("admin", "viewer") else wire.MembershipRole(role=r)
                     for r in roles)
    return MemberIdentity(id=f"id-{name}", name=name, auth_methods=methods, metadata=metadata,
                          universal_auth=universal or ua(), roles=assigned)


def translate(*, roles: tuple[wire.Role, ...] = (),
              identities: tuple[MemberIdentity, ...] = ()) -> tuple[Any, Findings]:
    project = wire.Project(id="p", slug="journal", orgId="o",
                           environments=[wire.Environment(id="e", name="Production",
                                                          slug="prod")])
    findings = Findings()
    out = translate_infisical(InfisicalSnapshot(project, roles, identities), project="journal",
                              owner=OWNER, slugs={"prod": "prod"}, findings=findings)
    return out, findings


@pytest.mark.parametrize(("actions", "wanted"), [
    (["describeSecret", "readValue"], ["read", "describe"]),
    (["readValue"], ["read"]),
    ("read", ["read", "describe"]),  # the legacy action stands for both
    (["describeSecret", "create", "edit", "delete"], ["describe", "create", "edit", "delete"]),
])
def test_secret_actions_come_back_in_the_workspace_vocabulary(actions: Any,
                                                              wanted: list[str]) -> None:
    converted, _ = convert_rule(rule(actions, secretPath={"$glob": "/a/**"}), "prod")
    assert converted == {"subject": "secrets", "actions": wanted,
                         "conditions": {"secret_path": "/a/**"}}
    assert rendered_rules([converted], "prod") == normalise_rules(
        [rule(actions, secretPath={"$glob": "/a/**"})])


@pytest.mark.parametrize(("live", "why"), [
    (rule(["readValue"], secretName={"$eq": "X"}), "condition 'secretName'"),
    ({"subject": "secrets", "action": ["readValue"], "conditions": {}},
     "without an environment condition"),
    (rule(["readValue"], environment={"$eq": "staging"}), "for environment 'staging'"),
    ({"subject": "certificates", "action": ["read"]}, "subject 'certificates'"),
    (rule(["subscribe"]), "action 'subscribe'"),
    (rule(["readValue"], secretPath={"$in": ["/a"]}), "other than $eq or $glob"),
])
def test_rules_the_workspace_cannot_say_are_refused_with_a_reason(live: dict[str, Any],
                                                                  why: str) -> None:
    converted, reason = convert_rule(live, "prod")
    assert converted is None and why in reason


def test_a_managed_role_is_written_with_its_description_and_no_adoption() -> None:
    out, findings = translate(roles=(role(
        "runtime-prod", "runtime (prod)", "Runtime [managed by converge: acme/journal]",
        rule(["describeSecret", "readValue"], secretPath={"$glob": "/runtime/**"})),))
    assert out.roles == [{"name": "runtime", "environment": "prod", "description": "Runtime",
                          "permissions": [{"subject": "secrets", "actions": ["read", "describe"],
                                           "conditions": {"secret_path": "/runtime/**"}}]}]
    assert out.adopt == [] and findings.items == []


def test_an_exact_path_with_glob_characters_cannot_round_trip() -> None:
    """converge sends a path with '*' as $glob; an $eq on such a path means another rule."""
    live = role("runtime-prod", "runtime (prod)", None,
                rule(["readValue"], secretPath={"$eq": "/runtime/*"}))
    out, findings = translate(roles=(live,))
    assert out.roles == [] and out.adopt == []
    assert [(f.kind, f.subject) for f in findings.items] == [("skipped", "role runtime-prod")]
    assert "converge leaves it as it is" in findings.items[0].message


def test_a_managed_role_with_an_unsayable_rule_keeps_the_rest_and_reports_the_change() -> None:
    live = role("runtime-prod", "runtime (prod)", "[managed by converge: acme/journal]",
                rule(["readValue"]), rule(["readValue"], secretName={"$eq": "X"}))
    out, findings = translate(roles=(live,))
    assert len(out.roles[0]["permissions"]) == 1
    assert [f.kind for f in findings.items] == ["differs"]


def test_unmanaged_objects_are_adopted_and_another_projects_left_out() -> None:
    out, findings = translate(
        roles=(role("runtime-prod", "Runtime", "by hand", rule(["readValue"])),
               role("ci-prod", "ci (prod)", "[managed by converge: acme/other]",
                    rule(["readValue"]))),
        identities=(member("token-service@journal-prod", "runtime-prod", owner=None),))
    assert [r["name"] for r in out.roles] == ["runtime"]
    assert out.adopt == ["role/runtime-prod", "identity/token-service@journal-prod"]
    kinds = [(f.kind, f.subject) for f in findings.items]
    assert ("skipped", "role ci-prod") in kinds
    assert ("differs", "role runtime-prod") in kinds  # its display name becomes runtime (prod)
    assert ("adopt", "role runtime-prod") in kinds


def test_identities_keep_scope_bindings_and_non_default_auth_settings() -> None:
    out, findings = translate(
        roles=(role("ci-prod", "ci (prod)", "[managed by converge: acme/journal]",
                    rule(["readValue"])),),
        identities=(member("ci@github-prod", "ci-prod", "viewer",
                           universal=ua(accessTokenTTL=900, accessTokenNumUsesLimit=5,
                                        clientSecretTrustedIps=[{"ipAddress": "140.82.112.0",
                                                                 "prefix": 20}]),
                           methods=("universal-auth", "token-auth")),))
    assert out.identities == [{
        "name": "ci", "scope": "github", "environment": "prod", "roles": ["ci"],
        "auth": {"universal": {"access_token_ttl": 900, "access_token_max_ttl": 86400,
                               "access_token_num_uses_limit": 5,
                               "client_secret_trusted_ips": ["140.82.112.0/20"]}}}]
    assert out.identity_names == ["ci@github-prod"]
    messages = [f.message for f in findings.items]
    assert any("holds built-in role viewer" in m for m in messages)
    assert any("auth method token-auth" in m for m in messages)


def test_a_managed_identity_that_cannot_be_written_warns_that_plan_would_delete_it() -> None:
    out, findings = translate(identities=(member("api@journal-staging"),))
    assert out.identities == []
    assert "the next plan would delete it" in findings.items[0].message


def test_universal_auth_defaults_are_left_out() -> None:
    entry, exact = universal_auth_entry(ua(accessTokenTrustedIps=[
        {"ipAddress": "0.0.0.0", "prefix": 0}, {"ipAddress": "::", "prefix": 0}]))
    assert exact
    assert entry == {"access_token_ttl": 3600, "access_token_max_ttl": 86400,
                     "access_token_trusted_ips": ["0.0.0.0/0", "::/0"]}
