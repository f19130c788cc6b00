"""Project permissions: how role rules are stored, returned and enforced.

Infisical stores role permissions as CASL *packed* rules and unpacks them on read, which
reshapes what a client sent: ``action`` always comes back as a list and ``inverted`` is
always present (what the role schema dropped before packing, see ``permission_schema``,
never comes back). Condition values are kept as sent: a plain string stays a string. The
emulator stores the packed form and unpacks on read in the same way, so a reconciler that
diffs naively sees the drift it would see live, and no drift the service would not show.

Enforcement follows CASL: the rules of every role on the membership form one list, the
last rule that matches the action, subject and conditions decides, and an inverted match
denies. ``read`` is the legacy secrets action and implies ``describeSecret`` and
``readValue``; ``manage``/``all`` (the built-in admin) match everything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

Rule = dict[str, Any]

BUILT_IN_ROLES = ("admin", "member", "viewer", "no-access")
RESERVED_ROLE_SLUGS = (*BUILT_IN_ROLES, "custom", "ssh-host-bootstrapper",
                       "cryptographic-operator", "agent", "agent-proxy")

_SECRET_ACTIONS = ["read", "describeSecret", "readValue", "create", "edit", "delete"]
_CRUD = ["read", "create", "edit", "delete"]

BUILT_IN_RULES: dict[str, list[Rule]] = {
    "admin": [{"subject": "all", "action": ["manage"], "inverted": False}],
    "member": [
        {"subject": "secrets", "action": _SECRET_ACTIONS, "inverted": False},
        {"subject": "secret-folders", "action": _CRUD, "inverted": False},
        {"subject": "secret-imports", "action": _CRUD, "inverted": False},
        {"subject": "environments", "action": ["read"], "inverted": False},
        {"subject": "role", "action": ["read"], "inverted": False},
        {"subject": "identity", "action": ["read"], "inverted": False},
        {"subject": "member", "action": ["read"], "inverted": False},
        {"subject": "workspace", "action": ["read"], "inverted": False},
    ],
    "viewer": [
        {"subject": "secrets", "action": ["read", "describeSecret", "readValue"],
         "inverted": False},
        {"subject": "secret-folders", "action": ["read"], "inverted": False},
        {"subject": "environments", "action": ["read"], "inverted": False},
        {"subject": "role", "action": ["read"], "inverted": False},
        {"subject": "identity", "action": ["read"], "inverted": False},
        {"subject": "workspace", "action": ["read"], "inverted": False},
    ],
    "no-access": [],
}

# Which stored actions satisfy a requested one (CASL aliases as Infisical defines them).
_IMPLIED_BY: dict[str, set[str]] = {
    "describeSecret": {"describeSecret", "read"},
    "readValue": {"readValue", "read"},
}


# -- storage shape ----------------------------------------------------------------------

def _js_truthy(value: Any) -> bool:
    """JavaScript truthiness, which CASL's packing uses: ``{}`` and ``[]`` are truthy."""
    return not (value is None or value is False or value == 0 or value == "")


def pack_rules(rules: Iterable[Rule]) -> list[list[Any]]:
    """CASL ``packRules``: ``[actions joined by comma, subject, conditions|0, inverted 1|0]``
    with trailing falsy members dropped. Conditions are kept exactly as parsed (a string
    stays a string; an empty object is truthy and stays)."""
    packed: list[list[Any]] = []
    for rule in rules:
        action = rule["action"]
        actions = ",".join(action) if isinstance(action, list) else str(action)
        conditions = rule.get("conditions")
        row: list[Any] = [actions, rule["subject"],
                          conditions if _js_truthy(conditions) else 0,
                          1 if rule.get("inverted") else 0]
        while row and not _js_truthy(row[-1]):
            row.pop()
        packed.append(row)
    return packed


def unpack_rules(packed: Iterable[list[Any]]) -> list[Rule]:
    """CASL ``unpackRules`` then the service's read schema: ``action`` a list, ``subject``
    a string, ``inverted`` always present, ``conditions`` only when truthy."""
    rules: list[Rule] = []
    for row in packed:
        padded = [*row, 0, 0, 0][:4]
        action, subject, conditions, inverted = padded
        rule: Rule = {"subject": subject, "action": str(action).split(","),
                      "inverted": bool(inverted)}
        if _js_truthy(conditions):
            rule["conditions"] = conditions
        rules.append(rule)
    return rules


# -- matching ---------------------------------------------------------------------------

@lru_cache(maxsize=512)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """picomatch-like: ``**`` crosses ``/``, ``*`` and ``?`` do not, ``{a,b}`` alternates,
    and ``dir/**`` also matches ``dir`` itself."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("/**", i) and i + 3 == len(pattern):
            out.append("(?:/.*)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif ch == "*":
            out.append("[^/]*")
            i += 1
        elif ch == "?":
            out.append("[^/]")
            i += 1
        elif ch == "{":
            end = pattern.find("}", i)
            if end == -1:
                out.append(re.escape(ch))
                i += 1
            else:
                options = pattern[i + 1:end].split(",")
                out.append("(?:" + "|".join(re.escape(o) for o in options) + ")")
                i = end + 1
        else:
            out.append(re.escape(ch))
            i += 1
    return re.compile("^" + "".join(out) + "$")


def glob_match(pattern: str, value: str) -> bool:
    return _glob_regex(pattern).match(value) is not None


def _condition_matches(condition: Any, value: Any) -> bool:
    if not isinstance(condition, dict):
        return bool(condition == value)
    for op, operand in condition.items():
        if op == "$eq" and value != operand:
            return False
        if op == "$ne" and value == operand:
            return False
        if op == "$in" and value not in operand:
            return False
        if op == "$glob" and not (isinstance(value, str) and glob_match(str(operand), value)):
            return False
        if op == "$all" and not (isinstance(value, list) and all(v in value for v in operand)):
            return False
    return True


def _conditions_match(conditions: dict[str, Any] | None, obj: dict[str, Any]) -> bool:
    """Every condition must hold; a key the object does not carry is not checked, which
    is how a folder-level question ("may I list /runtime?") is asked."""
    for key, condition in (conditions or {}).items():
        if key not in obj:
            continue
        value = obj[key]
        if key == "secretTags" and isinstance(condition, dict) and "$in" in condition:
            if not set(value or []) & set(condition["$in"]):
                return False
            continue
        if not _condition_matches(condition, value):
            return False
    return True


def _rule_covers(rule: Rule, action: str, subject: str) -> bool:
    subjects = rule["subject"] if isinstance(rule["subject"], list) else [rule["subject"]]
    if subject not in subjects and "all" not in subjects:
        return False
    actions = set(rule["action"] if isinstance(rule["action"], list) else [rule["action"]])
    if "manage" in actions:
        return True
    return bool(actions & _IMPLIED_BY.get(action, {action}))


def rules_for(rules: list[Rule], action: str, subject: str) -> list[Rule]:
    """CASL's ``rulesFor``: the caller's rules about ``action`` on ``subject`` (what the
    service lists in a ``PermissionDenied``'s details), most significant first."""
    return [r for r in reversed(rules) if _rule_covers(r, action, subject)]


def is_allowed(rules: list[Rule], action: str, subject: str, obj: dict[str, Any]) -> bool:
    """CASL's decision: the last matching rule wins; no matching rule means deny."""
    for rule in reversed(rules):
        if _rule_covers(rule, action, subject) and _conditions_match(rule.get("conditions"), obj):
            return not rule.get("inverted", False)
    return False
