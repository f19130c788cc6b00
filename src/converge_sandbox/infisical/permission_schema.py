"""Role permission rules validated the way the service's ``ProjectPermissionV2Schema`` does.

The service parses every rule of a role body with a zod discriminated union on
``subject``: each subject allows its own actions (a string or a non-empty list of them),
and only some subjects take ``inverted`` and ``conditions``. zod objects drop unknown keys,
so on a subject without them ``inverted`` and ``conditions`` silently disappear (a rule
sent with conditions on ``role`` comes back without them), and inside ``conditions``
unknown keys and unknown operators disappear too. Anything else that does not fit is a
422 whose ``message`` is the list of zod issues, shaped as zod prints them (an unknown
subject is ``invalid_union_discriminator``, an unknown action ``invalid_union`` with the
``unionErrors`` of both branches). A few checks run after parsing and answer 400 instead
(``checkForInvalidPermissionCombination``: legacy ``read`` mixed with the granular
secret actions).

The tables below carry the service's subjects, actions and condition fields (read from
Infisical's ``project-permission.ts``), built from ``zodcheck``'s combinators, which
reproduce zod's issue shapes and union rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from converge_sandbox.infisical.errors import bad_request
from converge_sandbox.infisical.zodcheck import (
    DIRTY,
    INVALID,
    MISSING,
    VALID,
    Check,
    Issue,
    Parsed,
    Path,
    elements,
    enum,
    invalid_type,
    join_options,
    partial_object,
    refined_string,
    string,
    string_array,
    union,
)

# -- actions -------------------------------------------------------------------------------

def actions(options: tuple[str, ...]) -> Check:
    """``CASL_ACTION_SCHEMA_*``: one action or a non-empty list, always returned as a list."""
    single = enum(options)

    def many(value: Any, path: Path) -> Parsed:
        if not isinstance(value, list):
            return invalid_type("array", value, path)
        return elements(single, value, path, minimum=1)

    choice = union(single, many)

    def check(value: Any, path: Path) -> Parsed:
        parsed = choice(value, path)
        if parsed.status != INVALID and isinstance(parsed.value, str):
            parsed.value = [parsed.value]
        return parsed
    return check


# -- condition fields ----------------------------------------------------------------------

_PATH_MESSAGE = "Invalid Secret Path; it must start with a '/'"


def _operators(*names: str, path_like: bool = False) -> Check:
    fields: dict[str, Check] = {}
    slash: Callable[[str], bool] = lambda v: v.startswith("/")  # noqa: E731
    for name in names:
        if name in ("$eq", "$ne"):
            fields[name] = refined_string(slash, _PATH_MESSAGE) if path_like else string()
        elif name in ("$in", "$all"):
            if path_like:
                fields[name] = _refined_array(lambda v: all(e.startswith("/") for e in v),
                                              _PATH_MESSAGE)
            else:
                fields[name] = string_array()
        elif name == "$glob":
            fields[name] = string()
    return partial_object(fields)


def _refined_array(predicate: Callable[[list[str]], bool], message: str) -> Check:
    base = string_array()

    def check(value: Any, path: Path) -> Parsed:
        parsed = base(value, path)
        if parsed.status == VALID and not predicate(parsed.value):
            return Parsed(parsed.value, [{"code": "custom", "message": message, "path": path}],
                          DIRTY)
        return parsed
    return check


def _value(*ops: str) -> Check:
    """A condition field: a plain string or an operator object."""
    return union(string(), _operators(*ops))


_ALL_OPS = ("$eq", "$ne", "$in", "$glob")
SECRET_PATH = union(refined_string(lambda v: v.startswith("/"), _PATH_MESSAGE),
                    _operators("$eq", "$ne", "$in", "$glob", path_like=True))

SECRET_V1_CONDITIONS = partial_object({"environment": _value("$eq", "$ne", "$in"),
                                       "secretPath": SECRET_PATH})
SECRET_V2_CONDITIONS = partial_object({
    "environment": _value(*_ALL_OPS),
    "secretPath": SECRET_PATH,
    "secretName": _value(*_ALL_OPS),
    "secretTags": partial_object({"$in": string_array()}),
    "eventType": _value("$eq", "$ne", "$in"),
})
ENV_PATH_CONDITIONS = partial_object({"environment": _value(*_ALL_OPS),
                                      "secretPath": SECRET_PATH})
DYNAMIC_SECRET_CONDITIONS = partial_object({
    "environment": _value(*_ALL_OPS),
    "secretPath": SECRET_PATH,
    "metadata": partial_object({"$elemMatch": partial_object({
        "key": _operators("$eq", "$ne", "$in"), "value": _operators("$eq", "$ne", "$in")})}),
})


def _named(*fields: str, ops: tuple[str, ...] = _ALL_OPS) -> Check:
    return partial_object({f: _value(*ops) for f in fields})


# -- subjects --------------------------------------------------------------------------------

CRUD = ("read", "create", "edit", "delete")
SECRET_ACTIONS = ("read", "describeSecret", "readValue", "create", "edit", "delete")


@dataclass(frozen=True)
class SubjectSchema:
    """One branch of the discriminated union. ``conditions`` None: the subject takes neither
    ``inverted`` nor ``conditions`` (zod drops both)."""

    actions: tuple[str, ...]
    conditions: Check | None = None


SUBJECTS: dict[str, SubjectSchema] = {
    "secrets": SubjectSchema(SECRET_ACTIONS, SECRET_V2_CONDITIONS),
    "secret-folders": SubjectSchema(CRUD, SECRET_V1_CONDITIONS),
    "secret-imports": SubjectSchema(CRUD, ENV_PATH_CONDITIONS),
    "dynamic-secrets": SubjectSchema(
        ("read-root-credential", "create-root-credential", "edit-root-credential",
         "delete-root-credential", "lease"), DYNAMIC_SECRET_CONDITIONS),
    "identity": SubjectSchema(
        (*CRUD, "grant-privileges", "assume-privileges", "revoke-auth", "create-token",
         "get-token", "delete-token"), _named("identityId", ops=("$eq", "$ne", "$in"))),
    "ssh-hosts": SubjectSchema((*CRUD, "issue-host-cert"),
                               _named("hostname", ops=("$eq", "$glob", "$in"))),
    "pki-subscribers": SubjectSchema((*CRUD, "issue-cert", "list-certs"),
                                     _named("name", ops=("$eq", "$glob", "$in"))),
    "certificate-templates": SubjectSchema((*CRUD, "issue-cert", "list-certs"),
                                           _named("name")),
    "secret-rotation": SubjectSchema(
        ("read", "read-generated-credentials", "create", "edit", "delete", "rotate-secrets"),
        SECRET_V1_CONDITIONS),
    "secret-syncs": SubjectSchema(
        (*CRUD, "sync-secrets", "import-secrets", "remove-secrets"), ENV_PATH_CONDITIONS),
    "pki-syncs": SubjectSchema(
        (*CRUD, "sync-certificates", "import-certificates", "remove-certificates"),
        _named("name", "subscriberName")),
    "secret-events": SubjectSchema(
        ("subscribe-on-created", "subscribe-on-updated", "subscribe-on-deleted",
         "subscribe-on-import-mutations"), ENV_PATH_CONDITIONS),
    "certificate-profiles": SubjectSchema(
        (*CRUD, "issue-cert", "reveal-acme-eab-secret", "rotate-acme-eab-secret"),
        _named("slug")),
    "certificate-authorities": SubjectSchema((*CRUD, "renew", "sign-intermediate"),
                                             _named("name")),
    "certificates": SubjectSchema(
        (*CRUD, "read-private-key", "import"),
        _named("commonName", "altNames", "serialNumber", "friendlyName", "status")),
    "secret-approval": SubjectSchema(CRUD),
    "secret-rollback": SubjectSchema(("read", "create")),
    "member": SubjectSchema((*CRUD, "grant-privileges", "assume-privileges")),
    "groups": SubjectSchema((*CRUD, "grant-privileges")),
    "role": SubjectSchema(CRUD),
    "integrations": SubjectSchema(CRUD),
    "webhooks": SubjectSchema(CRUD),
    "service-tokens": SubjectSchema(CRUD),
    "settings": SubjectSchema(CRUD),
    "environments": SubjectSchema(CRUD),
    "tags": SubjectSchema(CRUD),
    "audit-logs": SubjectSchema(("read",)),
    "ip-allowlist": SubjectSchema(CRUD),
    "ssh-certificate-authorities": SubjectSchema(CRUD),
    "ssh-certificates": SubjectSchema(CRUD),
    "ssh-certificate-templates": SubjectSchema(CRUD),
    "ssh-host-groups": SubjectSchema(CRUD),
    "pki-alerts": SubjectSchema(CRUD),
    "pki-collections": SubjectSchema(CRUD),
    "workspace": SubjectSchema(("edit", "delete")),
    "kms": SubjectSchema(("edit",)),
    "cmek": SubjectSchema((*CRUD, "encrypt", "decrypt", "sign", "verify")),
    "kmip": SubjectSchema(("create-clients", "update-clients", "delete-clients",
                           "read-clients", "generate-client-certificates")),
    "commits": SubjectSchema(("read", "perform-rollback")),
    "secret-scanning-data-sources": SubjectSchema(
        ("read-data-sources", "create-data-sources", "edit-data-sources",
         "delete-data-sources", "trigger-data-source-scans", "read-data-source-scans",
         "read-data-source-resources")),
    "secret-scanning-findings": SubjectSchema(("read-findings", "update-findings")),
    "secret-scanning-configs": SubjectSchema(("read-configs", "update-configs")),
    "app-connections": SubjectSchema(
        ("read-app-connections", "create-app-connections", "edit-app-connections",
         "delete-app-connections", "connect-app-connections"),
        _named("connectionId", ops=("$eq", "$ne", "$in"))),
    "pam-folders": SubjectSchema(CRUD),
    "pam-resources": SubjectSchema(CRUD),
    "pam-accounts": SubjectSchema(
        ("access", *CRUD),
        partial_object({"resourceName": _value(*_ALL_OPS), "accountName": _value(*_ALL_OPS),
                        "accountPath": SECRET_PATH})),
    "pam-sessions": SubjectSchema(("read",)),
    "approval-requests": SubjectSchema(("read", "create")),
}


def _rule(value: Any, path: Path) -> Parsed:
    if not isinstance(value, dict):
        return invalid_type("object", value, path)
    subject = value.get("subject", MISSING)
    schema = SUBJECTS.get(subject) if isinstance(subject, str) else None
    if schema is None:
        options = list(SUBJECTS)
        return Parsed(None, [{"code": "invalid_union_discriminator", "options": options,
                              "path": [*path, "subject"],
                              "message": "Invalid discriminator value. Expected "
                                         + join_options(tuple(options))}], INVALID)
    out: dict[str, Any] = {"subject": subject}
    issues: list[Issue] = []
    status = VALID
    parsed_actions = actions(schema.actions)(
        value.get("action", MISSING), [*path, "action"])
    parts = [("action", parsed_actions)]
    if schema.conditions is not None:
        if "inverted" in value:
            inverted = value["inverted"]
            parts.append(("inverted", Parsed(inverted, [], VALID) if isinstance(inverted, bool)
                          else invalid_type("boolean", inverted, [*path, "inverted"])))
        if "conditions" in value:
            parts.append(("conditions", schema.conditions(value["conditions"],
                                                          [*path, "conditions"])))
    for key, parsed in parts:
        issues += parsed.issues
        out[key] = parsed.value
        if parsed.status == INVALID:
            status = INVALID
        elif parsed.status == DIRTY and status == VALID:
            status = DIRTY
    return Parsed(out, issues, status)


def parse_permissions(value: Any, path: Path) -> Parsed:
    """``ProjectPermissionV2Schema.array()``: the rules as the service keeps them."""
    if not isinstance(value, list):
        return invalid_type("array", value, path)
    return elements(_rule, value, path, minimum=0)


def check_combinations(rules: list[dict[str, Any]]) -> None:
    """The service's ``checkForInvalidPermissionCombination`` (a 400, not a 422): the legacy
    secrets action ``read`` cannot be combined with ``readValue``/``describeSecret``."""
    for rule in rules:
        if rule["subject"] != "secrets" or "read" not in rule["action"]:
            continue
        has_value = "readValue" in rule["action"]
        has_describe = "describeSecret" in rule["action"]
        if not (has_value or has_describe):
            continue
        chosen = ("both Read Value and Describe Secret" if has_value and has_describe
                  else "Read Value" if has_value else "Describe Secret")
        raise bad_request(
            f"You have selected Read, and {chosen}. You cannot select Read Value or Describe "
            "Secret if you have selected Read. The Read permission is a legacy action which "
            "has been replaced by Describe Secret and Read Value."
        )
