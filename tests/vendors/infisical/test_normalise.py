"""Pure translation and normal forms: what Infisical reshapes compares equal to what the
artifacts say, and real differences stay different."""

from __future__ import annotations

from converge.vendors.infisical.normalise import (
    normalise_cidr,
    normalise_rules,
    normalise_universal_auth,
    permission_to_wire,
    role_is_managed,
    role_short_name,
)

ARTIFACT_RULE = {"subject": "secrets", "actions": ["describe", "read"],
                 "conditions": {"environment": "prod", "secretPath": "/runtime/**"},
                 "inverted": False}


def test_artifact_rule_becomes_granular_actions_with_operators() -> None:
    assert permission_to_wire(ARTIFACT_RULE) == {
        "subject": "secrets", "action": ["describeSecret", "readValue"], "inverted": False,
        "conditions": {"environment": {"$eq": "prod"}, "secretPath": {"$glob": "/runtime/**"}},
    }


def test_plain_secret_path_is_an_equality_condition() -> None:
    rule = {**ARTIFACT_RULE, "conditions": {"environment": "prod", "secretPath": "/runtime"}}
    assert permission_to_wire(rule)["conditions"]["secretPath"] == {"$eq": "/runtime"}


def test_non_secret_subjects_drop_environment_conditions() -> None:
    rule = {"subject": "identity", "actions": ["read"], "conditions": {"environment": "prod"}}
    assert "conditions" not in permission_to_wire(rule)


def test_project_subject_is_sent_as_the_services_workspace() -> None:
    """Infisical names the project subject ``workspace``; ``project`` would be a 422."""
    rule = {"subject": "project", "actions": ["edit"], "inverted": False}
    assert permission_to_wire(rule) == {"subject": "workspace", "action": ["edit"],
                                        "inverted": False}


def test_dynamic_secret_actions_are_the_root_credential_actions() -> None:
    """Dynamic secrets take only their own actions; plain CRUD would be a 422."""
    rule = {"subject": "dynamic-secrets", "actions": ["describe", "edit", "read"],
            "conditions": {"environment": "prod", "secretPath": "/db"}, "inverted": False}
    assert permission_to_wire(rule)["action"] == ["edit-root-credential",
                                                  "read-root-credential"]


def test_api_reshaping_normalises_to_the_same_rules() -> None:
    sent = [permission_to_wire(ARTIFACT_RULE),
            {"subject": "secret-folders", "action": "read", "conditions": {}}]
    returned = [
        {"subject": "secret-folders", "action": ["read"], "inverted": False},
        {"subject": "secrets", "action": ["readValue", "describeSecret"], "inverted": False,
         "conditions": {"secretPath": {"$glob": "/runtime/**"}, "environment": "prod"}},
    ]
    assert normalise_rules(sent) == normalise_rules(returned)


def test_legacy_read_equals_describe_plus_read_value() -> None:
    assert normalise_rules([{"subject": "secrets", "action": "read"}]) == normalise_rules(
        [{"subject": "secrets", "action": ["describeSecret", "readValue"]}])


def test_different_paths_stay_different() -> None:
    other = {**ARTIFACT_RULE, "conditions": {"environment": "prod", "secretPath": "/ci/**"}}
    assert normalise_rules([permission_to_wire(ARTIFACT_RULE)]) != normalise_rules(
        [permission_to_wire(other)])


def test_inverted_rules_keep_their_order() -> None:
    allow = {"subject": "secrets", "action": ["readValue"], "inverted": False}
    deny = {"subject": "secrets", "action": ["readValue"], "inverted": True}
    assert normalise_rules([allow, deny]) != normalise_rules([deny, allow])


def test_parsed_trusted_ips_equal_the_cidrs_sent() -> None:
    assert normalise_cidr({"ipAddress": "140.82.112.0", "prefix": 20, "type": "ipv4"}) == (
        normalise_cidr("140.82.112.0/20"))
    assert normalise_cidr({"ipAddress": "10.1.2.3", "type": "ipv4"}) == "10.1.2.3/32"
    assert normalise_cidr("10.1.2.3") == "10.1.2.3/32"
    assert normalise_cidr({"ipAddress": "::", "prefix": 0, "type": "ipv6"}) == "::/0"


def test_universal_auth_settings_compare_across_shapes() -> None:
    desired = {"accessTokenTTL": 900, "accessTokenMaxTTL": 3600, "accessTokenNumUsesLimit": 0,
               "clientSecretTrustedIps": ["140.82.112.0/20"],
               "accessTokenTrustedIps": ["0.0.0.0/0"]}
    live = {"accessTokenTTL": 900, "accessTokenMaxTTL": 3600, "accessTokenNumUsesLimit": 0,
            "clientSecretTrustedIps": [{"ipAddress": "140.82.112.0", "prefix": 20,
                                        "type": "ipv4"}],
            "accessTokenTrustedIps": [{"ipAddress": "0.0.0.0", "prefix": 0, "type": "ipv4"}],
            "lockoutEnabled": True}
    assert normalise_universal_auth(desired) == normalise_universal_auth(live)


def test_role_ownership_and_short_name() -> None:
    assert role_is_managed("Reads [managed by converge: acme/journal]", "acme/journal")
    assert not role_is_managed("Reads [managed by converge: acme/other]", "acme/journal")
    assert not role_is_managed(None, "acme/journal")
    assert role_short_name("runtime (prod)", "runtime-prod") == "runtime"
    assert role_short_name("Runtime", "runtime-prod") == "runtime-prod"


def test_describe_on_other_subjects_is_read() -> None:
    rule = {"subject": "secret-folders", "actions": ["describe", "read"]}
    assert permission_to_wire(rule)["action"] == ["read"]


def _converge_rules() -> list[dict[str, object]]:
    """One artifact rule per subject converge's roles file allows, with every action and
    the inversion and condition the config lets that subject have."""
    from typing import get_args

    from converge.config.models import (
        CONDITION_SUBJECTS,
        INVERTIBLE_SUBJECTS,
        ONLY_ACTIONS,
        Permission,
    )

    subjects = get_args(Permission.model_fields["subject"].annotation)
    actions = get_args(get_args(Permission.model_fields["actions"].annotation)[0])
    rules: list[dict[str, object]] = []
    for subject in subjects:
        rule: dict[str, object] = {
            "subject": subject, "actions": list(ONLY_ACTIONS.get(subject, actions)),
            "inverted": subject in INVERTIBLE_SUBJECTS,
            "conditions": {"environment": "prod"},
        }
        if subject in CONDITION_SUBJECTS:
            rule["conditions"] = {"environment": "prod", "secretPath": "/apps/**"}
        rules.append(rule)
    return rules


def test_every_rule_converge_can_send_is_taken_by_the_service_schema_without_drift() -> None:
    """Through the emulator's copy of Infisical's role schema: no 422, nothing dropped,
    and the stored-then-read rules compare equal to what was sent."""
    from converge_sandbox.infisical.permission_schema import check_combinations, parse_permissions
    from converge_sandbox.infisical.permissions import pack_rules, unpack_rules

    sent = [permission_to_wire(rule) for rule in _converge_rules()]
    parsed = parse_permissions(sent, ["permissions"])
    assert parsed.issues == []
    check_combinations(parsed.value)
    # nothing that matters is dropped (the schema drops ``inverted: false`` on subjects
    # that take no inversion, which means the same)
    kept = [{k: v for k, v in r.items() if (k, v) != ("inverted", False)} for r in sent]
    assert [{k: v for k, v in r.items() if (k, v) != ("inverted", False)}
            for r in parsed.value] == kept
    assert normalise_rules(unpack_rules(pack_rules(parsed.value))) == normalise_rules(sent)
