"""Turn a project's validated inputs into the artifact files of DESIGN §3.

Pure: inputs in, ``{file name: text}`` out. Artifacts use converge's own vocabulary with
every vendor target resolved (Infisical environment slugs, Vercel targets, Supabase refs
per region); the vendor packages translate them into API payloads at apply time. Server
values stay references: nothing here ever holds a secret.
"""

from __future__ import annotations

from typing import Any

from converge.config.models import Identity, Permission, Role
from converge.config.workspace import ProjectInputs
from converge.util.canonical import canonical_json, canonical_yaml

API_VERSION = "converge.dev/v1"


def render_artifacts(inputs: ProjectInputs) -> dict[str, str]:
    """Every artifact of the project except decision.json and manifest.json."""
    files: dict[str, str] = {}
    # ``metadata.index`` keeps the order objects are declared in, so people read them (and
    # the brief's output lists them) in the order they wrote them; vendors ignore it.
    for index, role in enumerate(inputs.roles):
        files[f"ProjectRole_{role.name}_{role.environment}.yaml"] = canonical_yaml(
            _with_index(_role(inputs, role), index)
        )
    bindings = 0
    for index, identity in enumerate(inputs.identities):
        full = identity.full_name(inputs.name)
        files[f"identity_{full}.yaml"] = canonical_yaml(
            _with_index(_identity(inputs, identity), index)
        )
        for role_name in identity.roles:
            binding = inputs.binding_name(identity, role_name)
            files[f"binding_{binding}.yaml"] = canonical_yaml(
                _with_index(_binding(inputs, identity, role_name), bindings)
            )
            bindings += 1
    if inputs.vercel is not None:
        files["vercel-env.json"] = canonical_json(_vercel(inputs))
    if inputs.supabase is not None:
        files["supabase-config.json"] = canonical_json(_supabase(inputs))
    return dict(sorted(files.items()))


def _with_index(doc: dict[str, Any], index: int) -> dict[str, Any]:
    doc["metadata"]["index"] = index
    return doc


def _object(
    kind: str, inputs: ProjectInputs, metadata: dict[str, Any], spec: Any
) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": {"project": inputs.name, **metadata},
        "spec": spec,
    }


def _infisical_env(inputs: ProjectInputs, env: str) -> str | None:
    targets = inputs.project.environments.get(env)
    return targets.infisical if targets else None


def _infisical_target(inputs: ProjectInputs, env: str) -> dict[str, Any]:
    target = inputs.project.targets.infisical
    return {
        "organization": target.organization if target else None,
        "project": target.project if target else None,
        "environment": _infisical_env(inputs, env),
    }


def _permission(inputs: ProjectInputs, role: Role, permission: Permission) -> dict[str, Any]:
    conditions: dict[str, Any] = {"environment": _infisical_env(inputs, role.environment)}
    if permission.conditions and permission.conditions.secret_path:
        conditions["secretPath"] = permission.conditions.secret_path
    return {
        "subject": permission.subject,
        "actions": sorted(permission.actions),
        "conditions": conditions,
        "inverted": permission.inverted,
    }


def _role(inputs: ProjectInputs, role: Role) -> dict[str, Any]:
    return _object(
        "ProjectRole",
        inputs,
        {"name": role.name, "environment": role.environment},
        {
            "slug": role.slug(),
            "displayName": role.display(),
            "description": role.description or "",
            "infisical": _infisical_target(inputs, role.environment),
            "permissions": [_permission(inputs, role, p) for p in role.permissions],
        },
    )


def _identity(inputs: ProjectInputs, identity: Identity) -> dict[str, Any]:
    ua = identity.auth.universal
    return _object(
        "MachineIdentity",
        inputs,
        {"name": identity.full_name(inputs.name), "environment": identity.environment},
        {
            "description": identity.description or "",
            "infisical": _infisical_target(inputs, identity.environment),
            "roles": [f"{r}-{identity.environment}" for r in identity.roles],
            "auth": {
                "universal": {
                    "accessTokenTTL": ua.access_token_ttl,
                    "accessTokenMaxTTL": ua.access_token_max_ttl,
                    "accessTokenNumUsesLimit": ua.access_token_num_uses_limit,
                    "clientSecretTrustedIps": sorted(ua.client_secret_trusted_ips),
                    "accessTokenTrustedIps": sorted(ua.access_token_trusted_ips),
                }
            },
        },
    )


def _binding(inputs: ProjectInputs, identity: Identity, role_name: str) -> dict[str, Any]:
    return _object(
        "IdentityBinding",
        inputs,
        {"name": inputs.binding_name(identity, role_name), "environment": identity.environment},
        {
            "identity": identity.full_name(inputs.name),
            "role": role_name,
            "roleSlug": f"{role_name}-{identity.environment}",
            "infisical": _infisical_target(inputs, identity.environment),
        },
    )


def _vercel_targets(inputs: ProjectInputs, environments: list[str]) -> list[str]:
    targets: set[str] = set()
    for env in environments:
        declared = inputs.project.environments.get(env)
        if declared and declared.vercel:
            targets.update(declared.vercel)
    return sorted(targets)


def _reference_scope(inputs: ProjectInputs) -> dict[str, Any] | None:
    """Where ``secret/<env>/…`` and ``identity/…`` references resolve: the Infisical project
    and the slug of each converge environment. Kept in the artifact so an old revision
    re-applied by rollback resolves exactly as it did then."""
    target = inputs.project.targets.infisical
    if target is None:
        return None
    return {
        "organization": target.organization,
        "project": target.project,
        "environments": {
            env: spec.infisical
            for env, spec in sorted(inputs.project.environments.items())
            if spec.infisical
        },
    }


def _vercel(inputs: ProjectInputs) -> dict[str, Any]:
    assert inputs.vercel is not None
    variables: list[dict[str, Any]] = []
    for key, public_entries in inputs.vercel.public.items():
        for pub in public_entries:
            variables.append(
                {
                    "key": key,
                    "kind": "public",
                    "type": "plain",
                    "value": pub.value,
                    "environments": sorted(pub.environments),
                    "targets": _vercel_targets(inputs, pub.environments),
                    **({"comment": pub.comment} if pub.comment else {}),
                }
            )
    for key, server_entries in inputs.vercel.server.items():
        for srv in server_entries:
            variables.append(
                {
                    "key": key,
                    "kind": "server",
                    "type": "sensitive",
                    "ref": srv.ref,
                    "rotate": srv.rotate,
                    "environments": sorted(srv.environments),
                    "targets": _vercel_targets(inputs, srv.environments),
                }
            )
    variables.sort(key=lambda v: (v["key"], v["targets"]))
    target = inputs.project.targets.vercel
    return {
        "apiVersion": API_VERSION,
        "kind": "VercelEnvironment",
        "project": inputs.name,
        "vercel": {
            "team": target.team if target else None,
            "project": target.project if target else None,
        },
        "references": _reference_scope(inputs),
        "variables": variables,
    }


def supabase_projects(inputs: ProjectInputs) -> list[dict[str, Any]]:
    """Every Supabase project ref the project targets: one per environment, or per region."""
    refs: list[dict[str, Any]] = []
    for env, targets in sorted(inputs.project.environments.items()):
        if targets.supabase:
            refs.append({"environment": env, "region": None, "ref": targets.supabase})
    for region, spec in sorted((inputs.project.regions or {}).items()):
        for env, targets in sorted(spec.environments.items()):
            if targets.supabase:
                refs.append({"environment": env, "region": region, "ref": targets.supabase})
    return refs


def _supabase(inputs: ProjectInputs) -> dict[str, Any]:
    assert inputs.supabase is not None
    sb = inputs.supabase
    auth = sb.auth.model_dump(mode="json", exclude={"providers"})
    providers: dict[str, Any] = {}
    for name, provider in sorted(sb.auth.providers.items()):
        secret: Any = provider.secret
        providers[name] = {
            "enabled": provider.enabled,
            "client_id": provider.client_id,
            "secret": secret.model_dump(mode="json") if hasattr(secret, "model_dump") else None,
        }
    auth["providers"] = providers
    publish = [
        {
            "key": key,
            "from": entry.source,
            "environments": sorted(entry.environments),
            "targets": _vercel_targets(inputs, entry.environments),
        }
        for key, entry in sorted(sb.publish.vercel.items())
    ]
    return {
        "apiVersion": API_VERSION,
        "kind": "SupabaseConfig",
        "project": inputs.name,
        "projects": supabase_projects(inputs),
        "auth": auth,
        "database": {"rls": sb.database.rls.model_dump(mode="json")},
        "api": {"schemas": sorted(sb.api.schemas)},
        "publish": publish,
        "publish_to": _vercel_target(inputs) if publish else None,
        "references": _reference_scope(inputs),
    }


def _vercel_target(inputs: ProjectInputs) -> dict[str, Any] | None:
    target = inputs.project.targets.vercel
    return {"team": target.team, "project": target.project} if target else None
