"""Desired state read back from verified artifacts: what plan and apply reconcile towards.

The engine verifies ``.out/<p>/`` against its manifest and decision, then parses the
artifact texts into these frozen records and hands each vendor package its part. Reading
artifacts (not the workspace YAML) is what makes a rendered, reviewed, committed ``.out/``
the single source of truth for apply, and lets rollback re-apply an old revision's files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml
from yaml import YAMLError

from converge.errors import StaleArtifactError


@dataclass(frozen=True)
class InfisicalTarget:
    organization: str
    project: str
    environment: str


@dataclass(frozen=True)
class DesiredRole:
    name: str
    environment: str
    slug: str
    display: str
    description: str
    target: InfisicalTarget
    permissions: tuple[dict[str, Any], ...]
    index: int = 0  # declaration order in the workspace (display only)


@dataclass(frozen=True)
class DesiredIdentity:
    name: str  # full name, e.g. token-service@journal-prod
    environment: str
    description: str
    target: InfisicalTarget
    role_slugs: tuple[str, ...]
    universal_auth: dict[str, Any]
    index: int = 0  # declaration order in the workspace (display only)


@dataclass(frozen=True)
class DesiredBinding:
    name: str
    identity: str
    role: str
    role_slug: str
    environment: str
    target: InfisicalTarget
    index: int = 0  # declaration order in the workspace (display only)


@dataclass(frozen=True)
class DesiredVariable:
    """One Vercel variable record: a key and the set of targets it applies to."""

    key: str
    kind: str  # public | server
    type: str  # plain | sensitive
    targets: tuple[str, ...]
    environments: tuple[str, ...]
    value: str | None = None  # public literals only
    ref: str | None = None  # server references only
    rotate: int = 0
    comment: str | None = None


@dataclass(frozen=True)
class ReferenceScope:
    """Where references resolve: the Infisical project and converge env -> Infisical slug."""

    organization: str
    project: str
    environments: dict[str, str]


def _scope(doc: dict[str, Any]) -> ReferenceScope | None:
    refs = doc.get("references")
    if not refs:
        return None
    return ReferenceScope(
        organization=str(refs["organization"]),
        project=str(refs["project"]),
        environments={str(k): str(v) for k, v in refs["environments"].items()},
    )


@dataclass(frozen=True)
class DesiredVercel:
    team: str | None
    project: str
    variables: tuple[DesiredVariable, ...]
    references: ReferenceScope | None = None


@dataclass(frozen=True)
class SupabaseProjectRef:
    environment: str
    region: str | None
    ref: str


@dataclass(frozen=True)
class DesiredSupabase:
    projects: tuple[SupabaseProjectRef, ...]
    auth: dict[str, Any]
    rls_enforce: bool
    rls_schemas: tuple[str, ...]
    exposed_schemas: tuple[str, ...]
    publish: tuple[dict[str, Any], ...]
    references: ReferenceScope | None = None
    publish_to: tuple[str | None, str] | None = None  # Vercel (team, project) for publish


@dataclass(frozen=True)
class DesiredState:
    project: str
    decision_id: str
    manifest_digest: str
    roles: tuple[DesiredRole, ...]
    identities: tuple[DesiredIdentity, ...]
    bindings: tuple[DesiredBinding, ...]
    vercel: DesiredVercel | None
    supabase: DesiredSupabase | None

    @property
    def systems(self) -> tuple[str, ...]:
        found = []
        if self.roles or self.identities or self.bindings:
            found.append("infisical")
        if self.vercel is not None:
            found.append("vercel")
        if self.supabase is not None:
            found.append("supabase")
        return tuple(found)


def _target(spec: dict[str, Any]) -> InfisicalTarget:
    t = spec["infisical"]
    return InfisicalTarget(str(t["organization"]), str(t["project"]), str(t["environment"]))


def parse_desired(
    project: str, decision_id: str, manifest_digest: str, artifacts: dict[str, str]
) -> DesiredState:
    """Parse verified artifact texts; a malformed artifact is a StaleArtifactError."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    roles: list[DesiredRole] = []
    identities: list[DesiredIdentity] = []
    bindings: list[DesiredBinding] = []
    vercel: DesiredVercel | None = None
    supabase: DesiredSupabase | None = None
    for name, text in sorted(artifacts.items()):
        try:
            if name.endswith(".yaml"):
                doc = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
                kind, meta, spec = doc["kind"], doc["metadata"], doc["spec"]
                if kind == "ProjectRole":
                    roles.append(
                        DesiredRole(
                            name=meta["name"],
                            environment=meta["environment"],
                            slug=spec["slug"],
                            display=spec["displayName"],
                            description=spec["description"],
                            target=_target(spec),
                            permissions=tuple(spec["permissions"]),
                            index=int(meta.get("index", 0)),
                        )
                    )
                elif kind == "MachineIdentity":
                    identities.append(
                        DesiredIdentity(
                            name=meta["name"],
                            environment=meta["environment"],
                            description=spec["description"],
                            target=_target(spec),
                            role_slugs=tuple(spec["roles"]),
                            universal_auth=dict(spec["auth"]["universal"]),
                            index=int(meta.get("index", 0)),
                        )
                    )
                elif kind == "IdentityBinding":
                    bindings.append(
                        DesiredBinding(
                            name=meta["name"],
                            identity=spec["identity"],
                            role=spec["role"],
                            role_slug=spec["roleSlug"],
                            environment=meta["environment"],
                            target=_target(spec),
                            index=int(meta.get("index", 0)),
                        )
                    )
            elif name == "vercel-env.json":
                doc = json.loads(text)
                vercel = DesiredVercel(
                    team=doc["vercel"]["team"],
                    project=doc["vercel"]["project"],
                    variables=tuple(
                        DesiredVariable(
                            key=v["key"],
                            kind=v["kind"],
                            type=v["type"],
                            targets=tuple(v["targets"]),
                            environments=tuple(v["environments"]),
                            value=v.get("value"),
                            ref=v.get("ref"),
                            rotate=int(v.get("rotate", 0)),
                            comment=v.get("comment"),
                        )
                        for v in doc["variables"]
                    ),
                    references=_scope(doc),
                )
            elif name == "supabase-config.json":
                doc = json.loads(text)
                supabase = DesiredSupabase(
                    projects=tuple(
                        SupabaseProjectRef(p["environment"], p["region"], p["ref"])
                        for p in doc["projects"]
                    ),
                    auth=dict(doc["auth"]),
                    rls_enforce=bool(doc["database"]["rls"]["enforce"]),
                    rls_schemas=tuple(doc["database"]["rls"]["schemas"]),
                    exposed_schemas=tuple(doc["api"]["schemas"]),
                    publish=tuple(doc["publish"]),
                    references=_scope(doc),
                    publish_to=(
                        (doc["publish_to"]["team"], str(doc["publish_to"]["project"]))
                        if doc.get("publish_to")
                        else None
                    ),
                )
        except (KeyError, TypeError, ValueError, YAMLError):
            raise StaleArtifactError(
                f"artifact {project}/{name} is malformed",
                hint=f"run make render PROJECT={project}",
            ) from None
    return DesiredState(
        project=project,
        decision_id=decision_id,
        manifest_digest=manifest_digest,
        roles=tuple(roles),
        identities=tuple(identities),
        bindings=tuple(bindings),
        vercel=vercel,
        supabase=supabase,
    )
