"""Desired state read back from verified artifacts: what plan and apply reconcile towards.

The engine accepts ``.out/<p>/`` only when it is byte-identical to a fresh render of the
inputs (``engine.trust``), then validates each artifact text against the model render
wrote it from (converge.artifacts), turns it into these frozen records and hands each
vendor package its part. Reading the artifacts' text (the same bytes that were reviewed
and committed) keeps ``.out/`` what apply applies, and lets rollback re-apply an earlier
revision's files once that revision's inputs pass today's rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import TypeAdapter
from yaml import YAMLError

from converge.artifacts import platforms
from converge.artifacts.infisical import (
    IdentityBinding,
    InfisicalObject,
    InfisicalScope,
    MachineIdentity,
    ProjectRole,
)
from converge.artifacts.platforms import (
    PublicVariable,
    ServerVariable,
    SupabaseConfig,
    VercelEnvironment,
)
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
    adopt: bool = False  # take it over if it exists unmanaged (project.yaml's adopt:)


@dataclass(frozen=True)
class DesiredIdentity:
    name: str  # full name, e.g. token-service@journal-prod
    environment: str
    description: str
    target: InfisicalTarget
    role_slugs: tuple[str, ...]
    universal_auth: dict[str, Any]
    index: int = 0  # declaration order in the workspace (display only)
    adopt: bool = False  # take it over if it exists unmanaged (project.yaml's adopt:)


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
    adopt: bool = False  # take over an unmanaged record in the way (project.yaml's adopt:)


@dataclass(frozen=True)
class ReferenceScope:
    """Where references resolve: the Infisical project and converge env -> Infisical slug."""

    organization: str
    project: str
    environments: dict[str, str]


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


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_INFISICAL_OBJECT: TypeAdapter[InfisicalObject] = TypeAdapter(InfisicalObject)


def parse_desired(
    project: str, decision_id: str, manifest_digest: str, artifacts: dict[str, str]
) -> DesiredState:
    """Validate verified artifact texts against their models (converge.artifacts) and turn
    them into the engine's records; a malformed artifact is a StaleArtifactError."""
    roles: list[DesiredRole] = []
    identities: list[DesiredIdentity] = []
    bindings: list[DesiredBinding] = []
    vercel: DesiredVercel | None = None
    supabase: DesiredSupabase | None = None
    for name, text in sorted(artifacts.items()):
        try:
            if name.endswith(".yaml"):
                doc = yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader
                obj = _INFISICAL_OBJECT.validate_python(doc)
                if isinstance(obj, ProjectRole):
                    roles.append(_role(obj))
                elif isinstance(obj, MachineIdentity):
                    identities.append(_identity(obj))
                else:
                    bindings.append(_binding(obj))
            elif name == "vercel-env.json":
                vercel = _vercel(VercelEnvironment.model_validate_json(text))
            elif name == "supabase-config.json":
                supabase = _supabase(SupabaseConfig.model_validate_json(text))
        except (ValueError, YAMLError):  # pydantic's ValidationError is a ValueError
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


def _target(scope: InfisicalScope) -> InfisicalTarget:
    return InfisicalTarget(scope.organization, scope.project, scope.environment)


def _role(obj: ProjectRole) -> DesiredRole:
    meta, spec = obj.metadata, obj.spec
    return DesiredRole(
        name=meta.name,
        environment=meta.environment,
        slug=spec.slug,
        display=spec.display_name,
        description=spec.description,
        target=_target(spec.infisical),
        permissions=tuple(rule.to_wire() for rule in spec.permissions),
        index=meta.index,
        adopt=spec.adopt,
    )


def _identity(obj: MachineIdentity) -> DesiredIdentity:
    meta, spec = obj.metadata, obj.spec
    return DesiredIdentity(
        name=meta.name,
        environment=meta.environment,
        description=spec.description,
        target=_target(spec.infisical),
        role_slugs=tuple(spec.roles),
        universal_auth=spec.auth.universal.to_wire(),
        index=meta.index,
        adopt=spec.adopt,
    )


def _binding(obj: IdentityBinding) -> DesiredBinding:
    meta, spec = obj.metadata, obj.spec
    return DesiredBinding(
        name=meta.name,
        identity=spec.identity,
        role=spec.role,
        role_slug=spec.role_slug,
        environment=meta.environment,
        target=_target(spec.infisical),
        index=meta.index,
    )


def _scope(refs: platforms.ReferenceScope | None) -> ReferenceScope | None:
    if refs is None:
        return None
    return ReferenceScope(
        organization=refs.organization,
        project=refs.project,
        environments=dict(refs.environments),
    )


def _variable(v: PublicVariable | ServerVariable) -> DesiredVariable:
    return DesiredVariable(
        key=v.key,
        kind=v.kind,
        type=v.type,
        targets=tuple(v.targets),
        environments=tuple(v.environments),
        value=v.value if isinstance(v, PublicVariable) else None,
        ref=v.ref if isinstance(v, ServerVariable) else None,
        rotate=v.rotate if isinstance(v, ServerVariable) else 0,
        comment=v.comment if isinstance(v, PublicVariable) else None,
        adopt=v.adopt,
    )


def _vercel(doc: VercelEnvironment) -> DesiredVercel:
    return DesiredVercel(
        team=doc.vercel.team,
        project=doc.vercel.project,
        variables=tuple(_variable(v) for v in doc.variables),
        references=_scope(doc.references),
    )


def _supabase(doc: SupabaseConfig) -> DesiredSupabase:
    rls = doc.database.rls
    return DesiredSupabase(
        projects=tuple(SupabaseProjectRef(p.environment, p.region, p.ref) for p in doc.projects),
        auth=doc.auth.to_wire(),
        rls_enforce=rls.enforce,
        rls_schemas=tuple(rls.schemas),
        exposed_schemas=tuple(doc.api.schemas),
        publish=tuple(entry.to_wire() for entry in doc.publish),
        references=_scope(doc.references),
        publish_to=(doc.publish_to.team, doc.publish_to.project) if doc.publish_to else None,
    )
