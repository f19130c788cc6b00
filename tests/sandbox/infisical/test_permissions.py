"""The permission engine on its own: glob semantics, packing, CASL rule precedence."""

from __future__ import annotations

from typing import Any

import pytest

from converge_sandbox.infisical.permissions import (
    glob_match,
    is_allowed,
    pack_rules,
    unpack_rules,
)


@pytest.mark.parametrize(("pattern", "path", "expected"), [
    ("/runtime/**", "/runtime", True),
    ("/runtime/**", "/runtime/db/primary", True),
    ("/runtime/**", "/runtimes", False),
    ("/runtime/**", "/ci", False),
    ("/apps/*", "/apps/web", True),
    ("/apps/*", "/apps/web/deep", False),
    ("/{auth,session}", "/session", True),
    ("/{auth,session}", "/ci", False),
    ("**", "/anything/at/all", True),
])
def test_glob_semantics(pattern: str, path: str, expected: bool) -> None:
    assert glob_match(pattern, path) is expected


def test_pack_then_unpack_reshapes_like_casl() -> None:
    """CASL's packRules/unpackRules: actions become a list, ``inverted`` is always present,
    condition values are kept as sent, and an empty object (truthy in JavaScript) stays."""
    rules: list[dict[str, Any]] = [
        {"subject": "secrets", "action": "read", "conditions": {"environment": "prod"}},
        {"subject": "secret-folders", "action": ["read", "edit"], "inverted": True,
         "conditions": {}},
        {"subject": "role", "action": ["read"]},
    ]

    assert unpack_rules(pack_rules(rules)) == [
        {"subject": "secrets", "action": ["read"], "inverted": False,
         "conditions": {"environment": "prod"}},
        {"subject": "secret-folders", "action": ["read", "edit"], "inverted": True,
         "conditions": {}},
        {"subject": "role", "action": ["read"], "inverted": False},
    ]


def test_later_inverted_rule_overrides_earlier_grant() -> None:
    rules = unpack_rules(pack_rules([
        {"subject": "secrets", "action": ["readValue"]},
        {"subject": "secrets", "action": ["readValue"], "inverted": True,
         "conditions": {"secretName": {"$in": ["DEPLOY_KEY"]}}},
    ]))

    assert is_allowed(rules, "readValue", "secrets", {"secretName": "DATABASE_URL"})
    assert not is_allowed(rules, "readValue", "secrets", {"secretName": "DEPLOY_KEY"})


def test_legacy_read_implies_describe_and_read_value_but_not_edit() -> None:
    rules = [{"subject": "secrets", "action": ["read"], "inverted": False}]
    assert is_allowed(rules, "describeSecret", "secrets", {})
    assert is_allowed(rules, "readValue", "secrets", {})
    assert not is_allowed(rules, "edit", "secrets", {})


def test_conditions_on_environment_must_match() -> None:
    rules = unpack_rules(pack_rules([{"subject": "secrets", "action": ["readValue"],
                                      "conditions": {"environment": {"$ne": "prod"}}}]))
    assert is_allowed(rules, "readValue", "secrets", {"environment": "staging"})
    assert not is_allowed(rules, "readValue", "secrets", {"environment": "prod"})
