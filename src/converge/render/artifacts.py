"""Turn a project's validated inputs into the artifact files of architecture §3.

Pure: inputs in, ``{file name: text}`` out. Artifacts use converge's own vocabulary with
every vendor target resolved (Infisical environment slugs, Vercel targets, Supabase refs
per region); the vendor packages translate them into API payloads at apply time. Server
values stay references: nothing here ever holds a secret. Each file is an instance of its
model in converge.artifacts, the same model the engine reads it back with.
"""

from __future__ import annotations

from converge.artifacts.infisical import (
    Conditions,
    IdentityAuth,
    IdentityBinding,
    IdentityBindingSpec,
    InfisicalScope,
    MachineIdentity,
    MachineIdentitySpec,
    Metadata,
    PermissionRule,
    ProjectRole,
    ProjectRoleSpec,
    UniversalAuth,
)
from converge.artifacts.platforms import (
    AuthProvider,
    Mfa,
    PublicVariable,
    PublishEntry,
    ReferenceScope,
    Rls,
    SecretReference,
    ServerVariable,
    SupabaseApi,
    SupabaseAuth,
    SupabaseConfig,
    SupabaseDatabase,
    SupabaseProjectRef,
    VercelEnvironment,
    VercelProject,
)
from converge.artifacts.wire import API_VERSION
from converge.config.models import Identity, Permission, Reference, Role
from converge.config.workspace import ProjectInputs


def render_artifacts(inputs: ProjectInputs) -> dict[str, str]:
    """Every artifact of the project except decision.json and manifest.json."""
    files: dict[str, str] = {}
    # ``metadata.index`` keeps the order objects are declared in, so people read them (and
    # the brief's output lists them) in the order they wrote them; vendors ignore it.
    for index, role in enumerate(inputs.roles):
        files[f"ProjectRole_{role.name}_{role.environment}.yaml"] = _role(
            inputs, role, index
        ).to_yaml()
    bindings = 0
    for index, identity in enumerate(inputs.identities):
        full = identity.full_name(inputs.name)
        files[f"identity_{full}.yaml"] = _identity(inputs, identity, index).to_yaml()
        for role_name in identity.roles:
            binding = inputs.binding_name(identity, role_name)
            files[f"binding_{binding}.yaml"] = _binding(
                inputs, identity, role_name, bindings
            ).to_yaml()
            bindings += 1
    if inputs.vercel is not None:
        files["vercel-env.json"] = _vercel(inputs).to_json()
    if inputs.supabase is not None:
        files["supabase-config.json"] = _supabase(inputs).to_json()
    return dict(sorted(files.items()))


def _metadata(inputs: ProjectInputs, name: str, environment: str, index: int) -> Metadata:
    return Metadata(project=inputs.name, name=name, environment=environment, index=index)


def _infisical_env(inputs: ProjectInputs, env: str) -> str:
    # Validation (config/crosscheck.py) refuses a role or identity whose environment has no
    # Infisical slug, and render runs on validated inputs only.
    targets = inputs.project.environments.get(env)
    slug = targets.infisical if targets else None
    assert slug is not None, f"environment {env} has no infisical slug"
    return slug


def _infisical_target(inputs: ProjectInputs, env: str) -> InfisicalScope:
    # Roles and identities require targets.infisical (config/workspace.py).
    target = inputs.project.targets.infisical
    assert target is not None, "roles and identities need targets.infisical"
    return InfisicalScope(
        organization=target.organization,
        project=target.project,
        environment=_infisical_env(inputs, env),
    )


def _permission(inputs: ProjectInputs, role: Role, permission: Permission) -> PermissionRule:
    secret_path = permission.conditions.secret_path if permission.conditions else None
    return PermissionRule(
        subject=permission.subject,
        actions=sorted(permission.actions),
        conditions=Conditions(
            environment=_infisical_env(inputs, role.environment),
            secretPath=secret_path or None,
        ),
        inverted=permission.inverted,
    )


def _role(inputs: ProjectInputs, role: Role, index: int) -> ProjectRole:
    return ProjectRole(
        apiVersion=API_VERSION,
        kind="ProjectRole",
        metadata=_metadata(inputs, role.name, role.environment, index),
        spec=ProjectRoleSpec(
            slug=role.slug(),
            displayName=role.display(),
            description=role.description or "",
            infisical=_infisical_target(inputs, role.environment),
            permissions=[_permission(inputs, role, p) for p in role.permissions],
            adopt=f"role/{role.slug()}" in inputs.project.adopt,
        ),
    )


def _identity(inputs: ProjectInputs, identity: Identity, index: int) -> MachineIdentity:
    ua = identity.auth.universal
    return MachineIdentity(
        apiVersion=API_VERSION,
        kind="MachineIdentity",
        metadata=_metadata(inputs, identity.full_name(inputs.name), identity.environment, index),
        spec=MachineIdentitySpec(
            description=identity.description or "",
            infisical=_infisical_target(inputs, identity.environment),
            roles=[f"{r}-{identity.environment}" for r in identity.roles],
            auth=IdentityAuth(
                universal=UniversalAuth(
                    accessTokenTTL=ua.access_token_ttl,
                    accessTokenMaxTTL=ua.access_token_max_ttl,
                    accessTokenNumUsesLimit=ua.access_token_num_uses_limit,
                    clientSecretTrustedIps=sorted(ua.client_secret_trusted_ips),
                    accessTokenTrustedIps=sorted(ua.access_token_trusted_ips),
                )
            ),
            adopt=f"identity/{identity.full_name(inputs.name)}" in inputs.project.adopt,
        ),
    )


def _binding(
    inputs: ProjectInputs, identity: Identity, role_name: str, index: int
) -> IdentityBinding:
    return IdentityBinding(
        apiVersion=API_VERSION,
        kind="IdentityBinding",
        metadata=_metadata(
            inputs, inputs.binding_name(identity, role_name), identity.environment, index
        ),
        spec=IdentityBindingSpec(
            identity=identity.full_name(inputs.name),
            role=role_name,
            roleSlug=f"{role_name}-{identity.environment}",
            infisical=_infisical_target(inputs, identity.environment),
        ),
    )


def _vercel_targets(inputs: ProjectInputs, environments: list[str]) -> list[str]:
    targets: set[str] = set()
    for env in environments:
        declared = inputs.project.environments.get(env)
        if declared and declared.vercel:
            targets.update(declared.vercel)
    return sorted(targets)


def _reference_scope(inputs: ProjectInputs) -> ReferenceScope | None:
    """Where ``secret/<env>/…`` and ``identity/…`` references resolve: the Infisical project
    and the slug of each converge environment. Kept in the artifact so an old revision
    re-applied by rollback resolves exactly as it did then."""
    target = inputs.project.targets.infisical
    if target is None:
        return None
    return ReferenceScope(
        organization=target.organization,
        project=target.project,
        environments={
            env: spec.infisical
            for env, spec in sorted(inputs.project.environments.items())
            if spec.infisical
        },
    )


def _vercel_project(inputs: ProjectInputs) -> VercelProject | None:
    target = inputs.project.targets.vercel
    return VercelProject(team=target.team, project=target.project) if target else None


def _vercel(inputs: ProjectInputs) -> VercelEnvironment:
    assert inputs.vercel is not None
    variables: list[PublicVariable | ServerVariable] = []
    for key, public_entries in inputs.vercel.public.items():
        for pub in public_entries:
            variables.append(
                PublicVariable(
                    key=key,
                    kind="public",
                    type="plain",
                    value=pub.value,
                    environments=sorted(pub.environments),
                    targets=_vercel_targets(inputs, pub.environments),
                    comment=pub.comment or None,
                    adopt=f"vercel/{key}" in inputs.project.adopt,
                )
            )
    for key, server_entries in inputs.vercel.server.items():
        for srv in server_entries:
            variables.append(
                ServerVariable(
                    key=key,
                    kind="server",
                    type="sensitive",
                    ref=srv.ref,
                    rotate=srv.rotate,
                    environments=sorted(srv.environments),
                    targets=_vercel_targets(inputs, srv.environments),
                    adopt=f"vercel/{key}" in inputs.project.adopt,
                )
            )
    variables.sort(key=lambda v: (v.key, v.targets))
    vercel = _vercel_project(inputs)
    assert vercel is not None, "a Vercel file requires targets.vercel (config/workspace.py)"
    return VercelEnvironment(
        apiVersion=API_VERSION,
        kind="VercelEnvironment",
        project=inputs.name,
        vercel=vercel,
        references=_reference_scope(inputs),
        variables=variables,
    )


def supabase_projects(inputs: ProjectInputs) -> list[SupabaseProjectRef]:
    """Every Supabase project ref the project targets: one per environment, or per region."""
    refs: list[SupabaseProjectRef] = []
    for env, targets in sorted(inputs.project.environments.items()):
        if targets.supabase:
            refs.append(SupabaseProjectRef(environment=env, region=None, ref=targets.supabase))
    for region, spec in sorted((inputs.project.regions or {}).items()):
        for env, targets in sorted(spec.environments.items()):
            if targets.supabase:
                refs.append(
                    SupabaseProjectRef(environment=env, region=region, ref=targets.supabase)
                )
    return refs


def _secret(secret: Reference | str | None) -> SecretReference | None:
    """A provider secret as a reference; a literal never reaches an artifact (policy refuses
    it, and it is dropped here so no code path can write it)."""
    if isinstance(secret, Reference):
        return SecretReference(ref=secret.ref, rotate=secret.rotate)
    return None


def _supabase(inputs: ProjectInputs) -> SupabaseConfig:
    assert inputs.supabase is not None
    sb = inputs.supabase
    auth = sb.auth
    publish = [
        PublishEntry(
            key=key,
            environments=sorted(entry.environments),
            targets=_vercel_targets(inputs, entry.environments),
            **{"from": entry.source},
        )
        for key, entry in sorted(sb.publish.vercel.items())
    ]
    return SupabaseConfig(
        apiVersion=API_VERSION,
        kind="SupabaseConfig",
        project=inputs.name,
        projects=supabase_projects(inputs),
        auth=SupabaseAuth(
            jwt_exp=auth.jwt_exp,
            site_url=auth.site_url,
            uri_allow_list=list(auth.uri_allow_list),
            disable_signup=auth.disable_signup,
            mailer_autoconfirm=auth.mailer_autoconfirm,
            password_min_length=auth.password_min_length,
            mfa=Mfa(totp=auth.mfa.totp, phone=auth.mfa.phone) if auth.mfa else None,
            providers={
                name: AuthProvider(
                    enabled=provider.enabled,
                    client_id=provider.client_id,
                    secret=_secret(provider.secret),
                )
                for name, provider in sorted(auth.providers.items())
            },
        ),
        database=SupabaseDatabase(
            rls=Rls(enforce=sb.database.rls.enforce, schemas=list(sb.database.rls.schemas))
        ),
        api=SupabaseApi(schemas=sorted(sb.api.schemas)),
        publish=publish,
        publish_to=_vercel_project(inputs) if publish else None,
        references=_reference_scope(inputs),
    )
