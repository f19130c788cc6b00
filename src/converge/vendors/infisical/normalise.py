"""Translation from converge's artifact vocabulary to Infisical's, and the normal forms
both sides are compared in (pure; no I/O).

Infisical reshapes what it is sent (architecture §6, vendor notes "Pain points"): role rules
come back with ``action`` always a list and ``inverted`` always present, a plain string
condition becomes ``{"$eq": …}``, empty conditions disappear, the legacy secrets action
``read`` stands for ``describeSecret`` + ``readValue``; trusted IPs come back parsed as
``{ipAddress, prefix, type}``; a null description equals an empty one. Every comparison
goes through the functions here, applied to desired *and* observed values, so a plan
made right after an apply is empty.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any

from converge.util.canonical import compact_json, sha256_hex

# Subjects whose rules take environment / secretPath conditions.
SECRET_SUBJECTS = frozenset({"secrets", "secret-folders", "secret-imports", "dynamic-secrets"})
BUILT_IN_ROLES = frozenset({"admin", "member", "viewer", "no-access", "custom",
                            "ssh-host-bootstrapper", "cryptographic-operator", "agent",
                            "agent-proxy"})
_GLOB_CHARS = re.compile(r"[*?{\[]")
_SECRET_ACTIONS = {"describe": "describeSecret", "read": "readValue"}
# Converge's subject names where Infisical's differ: the project is "workspace".
WIRE_SUBJECTS = {"project": "workspace"}
# Dynamic secrets have their own actions: reading or managing the root credential.
_DYNAMIC_SECRET_ACTIONS = {"read": "read-root-credential", "create": "create-root-credential",
                           "edit": "edit-root-credential", "delete": "delete-root-credential"}
UA_FIELDS = ("accessTokenTTL", "accessTokenMaxTTL", "accessTokenNumUsesLimit",
             "clientSecretTrustedIps", "accessTokenTrustedIps")


# -- role permissions ------------------------------------------------------------------

def permission_to_wire(rule: Mapping[str, Any]) -> dict[str, Any]:
    """One artifact rule (``actions: [describe, read]``, plain conditions) in Infisical's
    v2 format: granular secret actions, the root-credential actions of dynamic secrets,
    the service's subject names, ``$eq``/``$glob`` operators."""
    subject = str(rule["subject"])
    actions = [str(a) for a in rule.get("actions") or rule.get("action") or []]
    if subject == "secrets":
        actions = [_SECRET_ACTIONS.get(a, a) for a in actions]
    else:  # only secrets split reading in two; elsewhere "describe" is plain "read"
        actions = ["read" if a == "describe" else a for a in actions]
    if subject == "dynamic-secrets":
        actions = [_DYNAMIC_SECRET_ACTIONS.get(a, a) for a in actions]
    subject = WIRE_SUBJECTS.get(subject, subject)
    out: dict[str, Any] = {"subject": subject, "action": sorted(set(actions)),
                           "inverted": bool(rule.get("inverted", False))}
    conditions: dict[str, Any] = {}
    if subject in SECRET_SUBJECTS:
        for key, value in (rule.get("conditions") or {}).items():
            if value is None or value == "":
                continue
            if isinstance(value, str):
                glob = key == "secretPath" and _GLOB_CHARS.search(value)
                conditions[key] = {"$glob": value} if glob else {"$eq": value}
            else:
                conditions[key] = value
    if conditions:
        out["conditions"] = conditions
    return out


def _normal_actions(subject: str, actions: Iterable[str]) -> list[str]:
    found = set(actions)
    if subject == "secrets" and "read" in found:
        found.discard("read")
        found |= {"describeSecret", "readValue"}
    return sorted(found)


def _normal_conditions(conditions: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in sorted((conditions or {}).items()):
        if isinstance(value, str):
            value = {"$eq": value}
        if isinstance(value, Mapping):
            value = {op: value[op] for op in sorted(value)}
            if not value:
                continue
        out[key] = value
    return out


def normalise_rules(rules: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rules in one comparable form; order kept only where it matters (inverted rules:
    CASL lets the last matching rule win), otherwise sorted."""
    normal: list[dict[str, Any]] = []
    for rule in rules:
        subject = str(rule["subject"])
        action = rule.get("action", [])
        actions = [action] if isinstance(action, str) else [str(a) for a in action]
        entry: dict[str, Any] = {"subject": subject,
                                 "action": _normal_actions(subject, actions),
                                 "inverted": bool(rule.get("inverted") or False)}
        conditions = _normal_conditions(rule.get("conditions"))
        if conditions:
            entry["conditions"] = conditions
        normal.append(entry)
    if not any(r["inverted"] for r in normal):
        normal.sort(key=compact_json)
    return normal


# -- roles -----------------------------------------------------------------------------

def role_marker(owner: str) -> str:
    """The ownership marker appended to a managed role's description."""
    return f"[managed by converge: {owner}]"


def managed_description(description: str, owner: str) -> str:
    text = (description or "").strip()
    return f"{text} {role_marker(owner)}" if text else role_marker(owner)


def role_is_managed(description: str | None, owner: str) -> bool:
    return (description or "").rstrip().endswith(role_marker(owner))


def role_short_name(display: str, slug: str) -> str:
    """``runtime`` from a managed role's name ``runtime (prod)``; the slug otherwise."""
    match = re.fullmatch(r"(.+) \([^()]*\)", display or "")
    return match.group(1) if match else slug


# -- universal auth ----------------------------------------------------------------------

def normalise_cidr(entry: str | Mapping[str, Any]) -> str:
    """``10.0.0.0/8`` whatever the input shape: a string, or the parsed ``{ipAddress,
    prefix}`` the API returns (a single address gets its full-length prefix)."""
    if isinstance(entry, Mapping):
        address = str(entry.get("ipAddress", ""))
        prefix = entry.get("prefix")
        text = f"{address}/{prefix}" if prefix is not None and "/" not in address else address
    else:
        text = str(entry).strip()
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        return text


def normalise_universal_auth(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The universal-auth fields converge manages, in one comparable form."""
    return {
        "accessTokenTTL": int(settings.get("accessTokenTTL") or 0),
        "accessTokenMaxTTL": int(settings.get("accessTokenMaxTTL") or 0),
        "accessTokenNumUsesLimit": int(settings.get("accessTokenNumUsesLimit") or 0),
        "clientSecretTrustedIps": sorted(
            {normalise_cidr(e) for e in settings.get("clientSecretTrustedIps") or []}
        ),
        "accessTokenTrustedIps": sorted(
            {normalise_cidr(e) for e in settings.get("accessTokenTrustedIps") or []}
        ),
    }


def universal_auth_to_wire(normal: Mapping[str, Any]) -> dict[str, Any]:
    """The attach/update body for a normalised settings mapping."""
    body = {k: normal[k] for k in UA_FIELDS if not k.endswith("TrustedIps")}
    for key in ("clientSecretTrustedIps", "accessTokenTrustedIps"):
        body[key] = [{"ipAddress": ip} for ip in normal[key]]
    return body


# -- change markers ------------------------------------------------------------------------

def digest(data: Any) -> str:
    """A short content hash of what converge wants an object to be."""
    return sha256_hex(compact_json(data))[:16]


def change_marker(updated_at: str, desired_digest: str) -> str:
    """What the journal records after a write: the vendor's ``updatedAt`` plus the digest
    of the desired state written. A later observe trusts an object (and skips reading it)
    only when both still match: the object did not move and the artifacts did not change."""
    return f"{updated_at}#{desired_digest}"
