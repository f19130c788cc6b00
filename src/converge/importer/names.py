"""Vendor names back into the workspace's naming rules (pure).

converge names an identity ``<name>@<scope>-<env>`` (the scope defaults to the project),
a role slug ``<name>-<env>`` shown as ``<name> (<env>)``, and marks what it manages with
``<org>/<project>`` (role description suffix, identity metadata). Reading them back is
ambiguous only where ``-`` is both a separator and a name character, so the declared
environment names decide: the longest one that fits wins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from converge.config.models import NAME_PATTERN

_NAME = re.compile(NAME_PATTERN)
_DISPLAY = re.compile(r"(?P<name>.+) \((?P<env>[^()]+)\)")
_ROLE_MARKER = re.compile(r"\s*\[managed by converge: (?P<owner>[^\]]*)\]\s*$")


@dataclass(frozen=True)
class IdentityName:
    name: str
    scope: str | None  # None: the project's own name
    environment: str


@dataclass(frozen=True)
class RoleName:
    name: str
    environment: str


def _by_length(environments: Iterable[str]) -> list[str]:
    return sorted(set(environments), key=lambda e: (-len(e), e))


def split_identity_name(
    full: str, *, project: str, environments: Iterable[str]
) -> IdentityName | None:
    """``token-service@journal-prod`` → (token-service, None, prod); ``ci@github-prod`` →
    (ci, github, prod). None when the name does not follow the rule."""
    name, at, rest = full.partition("@")
    if not at or not _NAME.fullmatch(name):
        return None
    for env in _by_length(environments):
        suffix = f"-{env}"
        if rest.endswith(suffix) and len(rest) > len(suffix):
            scope = rest[: -len(suffix)]
            if _NAME.fullmatch(scope):
                return IdentityName(name, None if scope == project else scope, env)
    return None


def split_role(display: str, slug: str, *, environments: Iterable[str]) -> RoleName | None:
    """The role's name and environment: from its display name ``runtime (prod)`` when that
    agrees with its slug, else from the slug ``runtime-prod``. None when neither gives a
    declared environment and a valid name whose slug is exactly ``slug``."""
    envs = set(environments)
    shown = _DISPLAY.fullmatch(display or "")
    if shown and shown["env"] in envs and slug == f"{shown['name']}-{shown['env']}" and (
        _NAME.fullmatch(shown["name"])
    ):
        return RoleName(shown["name"], shown["env"])
    for env in _by_length(envs):
        suffix = f"-{env}"
        if slug.endswith(suffix) and _NAME.fullmatch(slug[: -len(suffix)] or "-"):
            return RoleName(slug[: -len(suffix)], env)
    return None


def display_environment(display: str) -> str | None:
    """``prod`` from a role shown as ``runtime (prod)``; None for any other name."""
    shown = _DISPLAY.fullmatch(display or "")
    return shown["env"] if shown else None


def split_role_description(description: str | None) -> tuple[str, str | None]:
    """``("Read runtime secrets", "acme/journal")`` from a managed role's description
    ``Read runtime secrets [managed by converge: acme/journal]``; the owner is None for a
    description without converge's marker."""
    text = description or ""
    match = _ROLE_MARKER.search(text)
    if match is None:
        return text.strip(), None
    return text[: match.start()].strip(), match["owner"]


def owner_parts(owner: str) -> tuple[str, str] | None:
    """``acme/journal`` → (acme, journal); None for anything else."""
    org, slash, project = owner.partition("/")
    return (org, project) if slash and org and project and "/" not in project else None
