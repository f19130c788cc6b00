"""The vendor-side projects a workspace names, as the sandbox receives them.

Why: the sandbox serves any workspace, not only the example, so before a command talks to
it the vendor-side projects the workspace's ``project.yaml`` files name must exist: the
Infisical project with its environments, the Vercel project in its team, the Supabase ref.
The CLI computes this description from the validated workspace (``converge.cli.
sandbox_names``) and hands it over as plain JSON data, in-process to ``start_sandbox`` or
over the control endpoint (``middleware``) to a sandbox already running; each emulator's
``workspace.ensure`` creates what is missing and leaves what exists alone.

The plain-data shape (every list may be empty or absent)::

    {"infisical": [{"organization": "acme", "project": "journal",
                    "environments": ["prod"]}],
     "vercel":    [{"team": "acme", "project": "journal-web"}],      # team: null = personal
     "supabase":  [{"organization": "acme", "ref": "journalprodqzvtkwmrx",
                    "region": "eu-west", "name": "journal"}]}        # region: null = default

The sandbox re-checks every value (it may come over HTTP): a value that could not be a
name at the vendor is refused with ``ValueError`` naming the field, never echoing it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_ENV = re.compile(r"^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$")
_VERCEL_PROJECT = re.compile(r"^(prj_[A-Za-z0-9]{1,64}|(?!.*---)[a-z0-9][a-z0-9._-]{0,99})$")
_VERCEL_TEAM = re.compile(r"^(team_[A-Za-z0-9]{1,64}|[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)$")
_SUPABASE_REF = re.compile(r"^[a-z]{20}$")
_MAX_ITEMS = 100_000


@dataclass(frozen=True)
class InfisicalProject:
    organization: str
    project: str
    environments: tuple[str, ...] = ()


@dataclass(frozen=True)
class VercelProject:
    team: str | None
    project: str


@dataclass(frozen=True)
class SupabaseRef:
    organization: str
    ref: str
    region: str | None = None
    name: str = ""


@dataclass(frozen=True)
class WantedProjects:
    """What a workspace names at the three vendors, deduplicated, in workspace order."""

    infisical: tuple[InfisicalProject, ...] = field(default=())
    vercel: tuple[VercelProject, ...] = field(default=())
    supabase: tuple[SupabaseRef, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not (self.infisical or self.vercel or self.supabase)

    def to_plain(self) -> dict[str, list[dict[str, Any]]]:
        return {
            "infisical": [{"organization": p.organization, "project": p.project,
                           "environments": list(p.environments)} for p in self.infisical],
            "vercel": [{"team": p.team, "project": p.project} for p in self.vercel],
            "supabase": [{"organization": r.organization, "ref": r.ref, "region": r.region,
                          "name": r.name} for r in self.supabase],
        }


NOTHING = WantedProjects()


def parse_wanted(data: object) -> WantedProjects:
    """``data`` in the plain shape above as ``WantedProjects``; ``ValueError`` naming the
    first field that is not valid. An Infisical project named twice gets the union of its
    environments; a Vercel project or a Supabase ref named twice is kept once."""
    if data is None:
        return NOTHING
    if isinstance(data, WantedProjects):
        return data
    if not isinstance(data, Mapping):
        raise ValueError("the workspace description must be an object")
    unknown = sorted(set(data) - {"infisical", "vercel", "supabase"})
    if unknown:
        raise ValueError(f"unknown vendor {unknown[0][:40]!r} in the workspace description")
    infisical: dict[str, InfisicalProject] = {}
    for i, item in enumerate(_items(data, "infisical")):
        where = f"infisical[{i}]"
        org = _text(item, "organization", _SLUG, where)
        slug = _text(item, "project", _SLUG, where, max_length=64)
        envs = item.get("environments", [])
        if not isinstance(envs, list) or not all(
            isinstance(e, str) and _ENV.fullmatch(e) for e in envs
        ):
            raise ValueError(f"{where}.environments must be a list of environment slugs")
        known = infisical.get(slug)
        merged = tuple(dict.fromkeys([*(known.environments if known else ()), *envs]))
        infisical[slug] = InfisicalProject(known.organization if known else org, slug, merged)
    vercel: dict[tuple[str | None, str], VercelProject] = {}
    for i, item in enumerate(_items(data, "vercel")):
        where = f"vercel[{i}]"
        team = None if item.get("team") is None else _text(item, "team", _VERCEL_TEAM, where)
        name = _text(item, "project", _VERCEL_PROJECT, where)
        vercel.setdefault((team, name), VercelProject(team, name))
    supabase: dict[str, SupabaseRef] = {}
    for i, item in enumerate(_items(data, "supabase")):
        where = f"supabase[{i}]"
        org = _text(item, "organization", _SLUG, where)
        ref = _text(item, "ref", _SUPABASE_REF, where)
        region = None if item.get("region") is None else _text(item, "region", _ENV, where)
        name = item.get("name") or ref
        if not isinstance(name, str) or len(name) > 256:
            raise ValueError(f"{where}.name must be text of at most 256 characters")
        supabase.setdefault(ref, SupabaseRef(org, ref, region, name))
    return WantedProjects(tuple(infisical.values()), tuple(vercel.values()),
                          tuple(supabase.values()))


def _items(data: Mapping[str, Any], vendor: str) -> list[Mapping[str, Any]]:
    items = data.get(vendor) or []
    if not isinstance(items, list) or len(items) > _MAX_ITEMS or not all(
        isinstance(item, Mapping) for item in items
    ):
        raise ValueError(f"{vendor} must be a list of objects")
    return items


def _text(item: Mapping[str, Any], key: str, pattern: re.Pattern[str], where: str, *,
          max_length: int = 100) -> str:
    value = item.get(key)
    if not isinstance(value, str) or len(value) > max_length or not pattern.fullmatch(value):
        raise ValueError(f"{where}.{key} is missing or not a valid name")
    return value
