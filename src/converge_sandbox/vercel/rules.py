"""Vercel's rules for env vars: request shape, key names, sizes, targets, uniqueness.

Pure functions over parsed input and stored records; each raises ``VercelApiError`` with
the code Vercel (or, where Vercel's code is unconfirmed, the Vercel CLI's list of known
codes) uses. Sources are in vercel-api.md §2–§4. Choices made where the vendor's
behaviour is unconfirmed:

- An invalid key is 400 ``KEY_INVALID_CHARACTERS``; a reserved one 400
  ``RESERVED_ENV_VARIABLE``; key plus value over 64 KiB 400 ``VALUE_INVALID_LENGTH``.
- Sensitive + development, a ``gitBranch`` without ``target == ["preview"]`` or equal to
  the production branch, and unknown custom environments are 400 ``bad_request``.
- An exact duplicate (same key, branch and target set) is 403 ``ENV_ALREADY_EXISTS``
  (the OpenAPI lists "already exists" under 403); a partial target overlap is 400
  ``ENV_CONFLICT``, with or without ``upsert``.
- A ``system`` var carries no value of its own: a non-empty value is 400
  ``SYSTEM_ENV_WITH_VALUE``.

Sensitivity changes (``check_type_change``). The sources disagree on turning an existing
var sensitive: the dashboard docs say "remove and re-add it" and the Terraform provider
replaces a var whose ``sensitive`` changes, but the official CLI (58.10.0, ``vercel env
update --sensitive``, "Update to a sensitive Environment Variable") PATCHes an existing
var to ``type: "sensitive"``, and vercel/vercel#16096 fixed exactly that call to work
against the API by leaving ``key`` out of the body. So the service evidently accepts the
change in place (PATCH without ``key``, or an upsert) and the sandbox does too. What it
refuses, the sandbox refuses: a PATCH of a sensitive var (or to ``sensitive``) that names
``key`` (terraform-provider-vercel#154, fixed in #155 by dropping ``key``), 400
``bad_request``. The way back is not documented anywhere as possible ("Secret values are
write-only after saving"; the provider replaces), so a sensitive var never becomes
readable in place, by PATCH or upsert, even with a new value: 400 ``bad_request``; remove
it and add it again (converge's apply does: a type change is a replacement).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from converge_sandbox.vercel.errors import VercelApiError, bad_request
from converge_sandbox.vercel.models import (
    TARGETS,
    WRITABLE_TYPES,
    EnvRecord,
    EnvType,
    ProjectRecord,
    Target,
    TeamRecord,
    Visibility,
)

KEY_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_KEY_AND_VALUE_BYTES = 64 * 1024
MAX_GIT_BRANCH = 250
MAX_COMMENT = 500
MAX_VARS_PER_TARGET = 1000
MAX_BATCH_DELETE_IDS = 1000

# Reserved-environment-variables page: unavailable names (AWS_ACCESS_KEY_ID and friends
# stay allowed although they carry the AWS prefix).
RESERVED_KEYS: frozenset[str] = frozenset({
    "AWS_SECRET_KEY",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "NOW_REGION",
    "TZ",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
})

CREATE_FIELDS = frozenset(
    {"key", "value", "type", "target", "gitBranch", "comment", "customEnvironmentIds",
     "visibility"}
)
PATCH_FIELDS = CREATE_FIELDS


@dataclass
class EnvInput:
    """One env var as a create request (or an upsert) describes it."""

    key: str
    value: str
    type: EnvType
    target: list[Target]
    git_branch: str | None = None
    custom_environment_ids: list[str] = field(default_factory=list)
    comment: str | None = None
    visibility: Visibility | None = None


@dataclass
class EnvPatch:
    """The fields a PATCH sets; ``None`` means "leave as is" except for ``git_branch``,
    where ``git_branch_set`` tells an explicit null from an absent field."""

    key: str | None = None
    value: str | None = None
    type: EnvType | None = None
    target: list[Target] | None = None
    git_branch: str | None = None
    git_branch_set: bool = False
    custom_environment_ids: list[str] | None = None
    comment: str | None = None
    visibility: Visibility | None = None


# request shape ---------------------------------------------------------------------------


def _invalid(message: str) -> VercelApiError:
    return bad_request(f"Invalid request: {message}")


def _reject_unknown(body: Mapping[str, Any], allowed: frozenset[str]) -> None:
    for name in body:
        if name not in allowed:
            raise _invalid(f"should NOT have additional property `{name}`.")


def _string(body: Mapping[str, Any], name: str, *, nullable: bool = False) -> str | None:
    value = body.get(name)
    if value is None and (nullable or name not in body):
        return None
    if not isinstance(value, str):
        raise _invalid(f"`{name}` should be string.")
    return value


def _string_list(body: Mapping[str, Any], name: str) -> list[str] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _invalid(f"`{name}` should be array of strings.")
    return list(value)


def _targets(body: Mapping[str, Any]) -> list[Target] | None:
    raw = _string_list(body, "target")
    if raw is None:
        return None
    for item in raw:
        if item not in TARGETS:
            raise _invalid(
                "`target` should be equal to one of the allowed values "
                "\"production, preview, development\"."
            )
    unique = list(dict.fromkeys(raw))
    return [cast(Target, t) for t in unique]


def _type(body: Mapping[str, Any]) -> EnvType | None:
    raw = _string(body, "type")
    if raw is None:
        return None
    if raw not in WRITABLE_TYPES:
        raise _invalid(
            "`type` should be equal to one of the allowed values "
            "\"system, encrypted, plain, sensitive\"."
        )
    return cast(EnvType, raw)


def _visibility(body: Mapping[str, Any]) -> Visibility | None:
    raw = _string(body, "visibility")
    if raw is None:
        return None
    if raw not in ("config", "secret"):
        raise _invalid("`visibility` should be equal to one of the allowed values.")
    return cast(Visibility, raw)


def _branch(body: Mapping[str, Any]) -> str | None:
    branch = _string(body, "gitBranch", nullable=True)
    if branch is not None and len(branch) > MAX_GIT_BRANCH:
        raise _invalid(f"`gitBranch` should NOT be longer than {MAX_GIT_BRANCH} characters.")
    return branch or None


def _comment(body: Mapping[str, Any]) -> str | None:
    comment = _string(body, "comment")
    if comment is not None and len(comment) > MAX_COMMENT:
        raise _invalid(f"`comment` should NOT be longer than {MAX_COMMENT} characters.")
    return comment


def parse_create_item(raw: object) -> EnvInput:
    """Check one create item against the OpenAPI request schema."""
    if not isinstance(raw, dict):
        raise _invalid("body should be object or array of objects.")
    _reject_unknown(raw, CREATE_FIELDS)
    if "key" not in raw:
        raise bad_request("Invalid request: missing required property `key`.", "MISSING_KEY")
    if "value" not in raw:
        raise bad_request(
            "Invalid request: missing required property `value`.", "MISSING_VALUE"
        )
    if "type" not in raw:
        raise _invalid("missing required property `type`.")
    key = _string(raw, "key") or ""
    if not isinstance(raw.get("value"), str):
        raise bad_request("Invalid request: `value` should be string.", "VALUE_INVALID_TYPE")
    value = cast(str, raw["value"])
    env_type = _type(raw)
    assert env_type is not None
    target = _targets(raw)
    custom = _string_list(raw, "customEnvironmentIds") or []
    if not target and not custom:
        raise bad_request(
            "Invalid request: missing required property `target`.", "MISSING_TARGET"
        )
    return EnvInput(
        key=key,
        value=value,
        type=env_type,
        target=target or [],
        git_branch=_branch(raw),
        custom_environment_ids=custom,
        comment=_comment(raw),
        visibility=_visibility(raw),
    )


def parse_patch(raw: object) -> EnvPatch:
    """Check a PATCH body: every field optional, no others (``additionalProperties: false``)."""
    if not isinstance(raw, dict):
        raise _invalid("body should be object.")
    _reject_unknown(raw, PATCH_FIELDS)
    value = raw.get("value")
    if "value" in raw and not isinstance(value, str):
        raise bad_request("Invalid request: `value` should be string.", "VALUE_INVALID_TYPE")
    return EnvPatch(
        key=_string(raw, "key"),
        value=cast("str | None", value),
        type=_type(raw),
        target=_targets(raw),
        git_branch=_branch(raw),
        git_branch_set="gitBranch" in raw,
        custom_environment_ids=_string_list(raw, "customEnvironmentIds"),
        comment=_comment(raw),
        visibility=_visibility(raw),
    )


# semantic rules --------------------------------------------------------------------------


def check_key(key: str) -> None:
    if not key:
        raise bad_request("The name of an Environment Variable must not be empty.", "MISSING_KEY")
    if not KEY_PATTERN.match(key):
        raise bad_request(
            f"The name `{key}` contains invalid characters: use only letters, digits and "
            "underscores, and do not start with a digit.",
            "KEY_INVALID_CHARACTERS",
            key=key,
        )
    if key in RESERVED_KEYS:
        raise bad_request(
            f"The name `{key}` is reserved for Vercel's runtime; choose another name.",
            "RESERVED_ENV_VARIABLE",
            key=key,
        )


def check_value(key: str, value: str, env_type: EnvType) -> None:
    if env_type == "system" and value:
        raise bad_request(
            f"The system Environment Variable `{key}` cannot be given a value.",
            "SYSTEM_ENV_WITH_VALUE",
            key=key,
        )
    size = len(key.encode()) + len(value.encode())
    if size > MAX_KEY_AND_VALUE_BYTES:
        raise bad_request(
            f"The Environment Variable `{key}` is {size} bytes; name and value together "
            f"may be at most {MAX_KEY_AND_VALUE_BYTES} bytes (64 KB).",
            "VALUE_INVALID_LENGTH",
            key=key,
        )


def check_placement(
    *,
    key: str,
    env_type: EnvType,
    target: list[Target],
    git_branch: str | None,
    custom_environment_ids: list[str],
    project: ProjectRecord,
    team: TeamRecord | None,
) -> None:
    """Target, branch and sensitivity rules that hold for a var wherever it is written."""
    if not target and not custom_environment_ids:
        raise bad_request(f"`{key}` must have at least one target.", "MISSING_TARGET", key=key)
    if custom_environment_ids:
        # The sandbox has no custom environments, so every id is unknown.
        raise bad_request(
            f"Custom environment `{custom_environment_ids[0]}` was not found in this project.",
            key=key,
        )
    if env_type == "sensitive" and "development" in target:
        raise bad_request(
            f"Sensitive Environment Variables cannot target Development (`{key}`).",
            key=key,
            target=target,
        )
    if git_branch is not None:
        if target != ["preview"]:
            raise bad_request(
                f"`{key}`: a Git branch can only be set when the target is preview only.",
                key=key,
                gitBranch=git_branch,
            )
        if git_branch == project.production_branch:
            raise bad_request(
                f"`{key}`: `{git_branch}` is the production branch and cannot hold "
                "preview Environment Variables.",
                key=key,
                gitBranch=git_branch,
            )
    if (
        team is not None
        and team.sensitive_env_policy == "on"
        and env_type in ("encrypted", "plain")
        and ({"production", "preview"} & set(target))
    ):
        raise bad_request(
            f"`{key}`: this team requires production and preview Environment Variables "
            "to be sensitive.",
            key=key,
            target=target,
        )


def check_type_change(record: EnvRecord, new_type: EnvType, *, names_key: bool) -> None:
    """What the service refuses when a write changes an existing var's sensitivity (see
    the module docstring): ``key`` in an edit of a sensitive var, and making a sensitive
    var readable again."""
    if names_key and "sensitive" in (record.type, new_type):
        raise bad_request(
            f"`{record.key}` is sensitive: leave `key` out when editing it.",
            key=record.key,
        )
    if record.type == "sensitive" and new_type != "sensitive":
        raise bad_request(
            f"`{record.key}` is sensitive and cannot be made readable again: remove it "
            "and add it again.",
            key=record.key,
        )


def check_room(existing: Iterable[EnvRecord], target: list[Target], key: str) -> None:
    """At most 1000 vars per environment per project (limits page)."""
    records = list(existing)
    for t in target:
        if sum(1 for r in records if t in r.target) >= MAX_VARS_PER_TARGET:
            raise bad_request(
                f"`{key}` cannot be added: {t} already has {MAX_VARS_PER_TARGET} "
                "Environment Variables.",
                "MAX_ENVS_EXCEEDED",
                key=key,
                target=[t],
            )


# uniqueness ------------------------------------------------------------------------------


def clashes(
    existing: Iterable[EnvRecord],
    *,
    key: str,
    git_branch: str | None,
    target: list[Target],
    custom_environment_ids: list[str],
    exclude_id: str | None = None,
) -> list[EnvRecord]:
    """Records with the same key and branch whose environments overlap the given ones."""
    wanted_targets = set(target)
    wanted_custom = set(custom_environment_ids)
    return [
        r
        for r in existing
        if r.id != exclude_id
        and r.key == key
        and r.git_branch == git_branch
        and (wanted_targets & set(r.target) or wanted_custom & set(r.custom_environment_ids))
    ]


def is_exact(record: EnvRecord, target: list[Target], custom_environment_ids: list[str]) -> bool:
    """Same environments exactly: the case ``upsert=true`` may overwrite."""
    return set(record.target) == set(target) and set(record.custom_environment_ids) == set(
        custom_environment_ids
    )


def _branch_text(git_branch: str | None) -> str:
    return git_branch if git_branch is not None else "undefined"


def already_exists(record: EnvRecord) -> VercelApiError:
    return VercelApiError(
        403,
        "ENV_ALREADY_EXISTS",
        "Another Environment Variable with the same Name and Environment exists in your "
        "project. Remove it or choose a different Name or Environment.",
        envVarId=record.id,
        key=record.key,
        envVarKey=record.key,
        target=list(record.target),
        **({"gitBranch": record.git_branch} if record.git_branch else {}),
    )


def conflict(record: EnvRecord, target: list[Target]) -> VercelApiError:
    overlap = [t for t in target if t in record.target] or list(record.target)
    return VercelApiError(
        400,
        "ENV_CONFLICT",
        f"A variable with the name `{record.key}` already exists for the target "
        f"{','.join(overlap)} on branch {_branch_text(record.git_branch)}",
        envVarId=record.id,
        key=record.key,
        envVarKey=record.key,
        target=overlap,
        **({"gitBranch": record.git_branch} if record.git_branch else {}),
    )
