"""How stored documents look on the wire, per endpoint.

Field names follow ``@vercel/sdk`` 1.28.35's zod schemas (the newest client), which is
what the SDK conformance test checks. What a value shows depends on where it is read:

=============================== ============ ============ =====================
read path                       plain        encrypted    sensitive
=============================== ============ ============ =====================
list v9/v10, create, edit, del  plaintext    ciphertext   ciphertext
list v8 ``?decrypt=true``       plaintext    plaintext    ciphertext
get one (v1/v10)                plaintext    plaintext    no ``value`` at all
``/v3/env/pull``                plaintext    plaintext    ``""``
=============================== ============ ============ =====================

``decrypted`` is true exactly when ``value`` is the plaintext. An absent ``gitBranch`` is
left out rather than sent as null: the SDK types it as an optional string.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from converge_sandbox.vercel.models import EnvRecord, ProjectRecord, TeamRecord, UserRecord

# Per-region defaults Vercel reports for a new project.
_DEFAULT_REGIONS = ["iad1"]


class Reveal(Enum):
    """How much of a value a read path may show."""

    HIDDEN = "hidden"  # ciphertext for encrypted and sensitive
    DECRYPTED = "decrypted"  # plaintext except sensitive (ciphertext)
    GET_ONE = "get_one"  # plaintext except sensitive (no value field)


def render_env(record: EnvRecord, reveal: Reveal, *, with_security: bool = False) -> dict[str, Any]:
    """One Env object; ``with_security`` adds ``securityIssues``, required in list items."""
    body: dict[str, Any] = {
        "id": record.id,
        "key": record.key,
        "type": record.type,
        "target": list(record.target),
        "configurationId": None,
        "createdAt": record.created_at,
        "updatedAt": record.updated_at,
        "createdBy": record.created_by,
        "updatedBy": record.updated_by,
        "customEnvironmentIds": list(record.custom_environment_ids),
    }
    readable = record.type != "sensitive" and (
        record.type in ("plain", "system") or reveal is not Reveal.HIDDEN
    )
    if readable:
        body["value"] = record.value
        body["decrypted"] = True
    else:
        body["decrypted"] = False
        if reveal is not Reveal.GET_ONE:
            body["value"] = record.ciphertext
    if record.type == "system":
        body["system"] = True
    if record.git_branch is not None:
        body["gitBranch"] = record.git_branch
    if record.comment is not None:
        body["comment"] = record.comment
    if record.visibility is not None:
        body["visibility"] = record.visibility
    if with_security:
        body["securityIssues"] = []
    return body


def render_pull_value(record: EnvRecord) -> str:
    """The value ``/v3/env/pull`` gives: sensitive values come back empty (the CLI then
    looks their type up and writes ``[SENSITIVE]``)."""
    return "" if record.type == "sensitive" else record.value


def render_user(user: UserRecord) -> dict[str, Any]:
    return {
        "id": user.id,
        "uid": user.id,
        "username": user.username,
        "email": user.email,
        "name": user.name,
        "avatar": None,
        "defaultTeamId": None,
        "createdAt": user.created_at,
        "softBlock": None,
        "limited": False,
        "billing": None,
        "resourceConfig": {},
        "stagingPrefix": user.username,
        "version": "northstar",
    }


def render_team(team: TeamRecord, *, role: str = "OWNER") -> dict[str, Any]:
    return {
        "id": team.id,
        "slug": team.slug,
        "name": team.name,
        "avatar": None,
        "createdAt": team.created_at,
        "updatedAt": team.created_at,
        "creatorId": team.members[0] if team.members else None,
        "membership": {"role": role, "confirmed": True, "created": team.created_at},
        "sensitiveEnvironmentVariablePolicy": team.sensitive_env_policy,
    }


def render_project(project: ProjectRecord) -> dict[str, Any]:
    """The fields ``getProject`` and each item of ``getProjects`` require, plus the few the
    CLI prints."""
    return {
        "id": project.id,
        "name": project.name,
        "accountId": project.account_id,
        "createdAt": project.created_at,
        "updatedAt": project.updated_at,
        "framework": project.framework,
        "nodeVersion": project.node_version,
        "directoryListing": False,
        "alias": [],
        "autoExposeSystemEnvs": True,
        "live": False,
        "latestDeployments": [],
        "serverlessFunctionRegion": _DEFAULT_REGIONS[0],
        "resourceConfig": {"functionDefaultRegions": list(_DEFAULT_REGIONS)},
        "defaultResourceConfig": {"functionDefaultRegions": list(_DEFAULT_REGIONS)},
        "deploymentExpiration": {
            "expirationDays": 180,
            "expirationDaysProduction": 365,
            "expirationDaysCanceled": 30,
            "expirationDaysErrored": 90,
            "deploymentsToKeep": 10,
        },
        "targets": {},
    }


def system_env(target: str) -> dict[str, str]:
    """The system variables ``/v3/env/pull`` adds when a project exposes them
    (``autoExposeSystemEnvs``, on by default): the ones whose value the sandbox knows."""
    return {"VERCEL": "1", "VERCEL_ENV": target, "VERCEL_TARGET_ENV": target}
