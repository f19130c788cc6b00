"""Cross-file checks: the references between a project's files must resolve.

Each file can be valid on its own and the project still be unusable: a Vercel variable
feeds an environment project.yaml never declares, a reference names an identity nobody
defines, a rollout wave names a region that does not exist. These are input errors
(``converge validate`` fails), not policy verdicts, so they are returned as located
ConfigErrors with rule ``schema`` -- except a binding to a missing role, which architecture §4
names ``infisical.role-exists`` so the same id is printed by validate and by decide.

The reference grammar lives here too (``parse_reference``) because it is part of the
input contract; render and apply resolve what this module has accepted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from converge.config.models import Project
from converge.config.workspace import ProjectInputs
from converge.errors import ConfigError

PathKey = tuple[str | int, ...]

SECRET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PATH_SEGMENT = re.compile(r"[A-Za-z0-9_.-]+")
# What ``converge import`` writes where it cannot recover a reference: never resolvable.
PLACEHOLDER_PREFIX = "placeholder/"
IDENTITY_REF = re.compile(
    r"identity/(?P<name>[a-z0-9-]+@[a-z0-9-]+)/(?P<field>client-id|client-secret)"
)


@dataclass(frozen=True)
class IdentityRef:
    """``identity/<full-name>/client-id|client-secret``."""

    identity: str
    field: Literal["client-id", "client-secret"]


@dataclass(frozen=True)
class SecretRef:
    """``secret/<env>/<path...>/<NAME>``: an Infisical secret at ``/<path...>``."""

    environment: str
    path: str
    name: str


Reference = IdentityRef | SecretRef


def parse_reference(text: str) -> Reference | None:
    """The parsed reference, or None when ``text`` does not follow the grammar."""
    match = IDENTITY_REF.fullmatch(text)
    if match:
        field: Literal["client-id", "client-secret"] = (
            "client-id" if match["field"] == "client-id" else "client-secret"
        )
        return IdentityRef(identity=match["name"], field=field)
    parts = text.split("/")
    if len(parts) < 3 or parts[0] != "secret":
        return None
    env, folders, name = parts[1], parts[2:-1], parts[-1]
    if not env or not SECRET_NAME.fullmatch(name):
        return None
    if not all(PATH_SEGMENT.fullmatch(p) and p not in (".", "..") for p in folders):
        return None
    return SecretRef(environment=env, path="/" + "/".join(folders), name=name)


def entry_path(raw: Any, section: str, key: str, index: int) -> PathKey:
    """YAML path of entry ``index`` of a Vercel key (a key holds one mapping or a list)."""
    value = raw.get(section, {}).get(key) if isinstance(raw, dict) else None
    return (section, key, index) if isinstance(value, list) else (section, key)


def env_has(project: Project, env: str, vendor: str) -> bool:
    """Whether ``env`` has a ``vendor`` target directly, or in every region."""
    declared = project.environments.get(env)
    if declared is None:
        return False
    if getattr(declared, vendor):
        return True
    regions = project.regions or {}
    return bool(regions) and all(
        env in r.environments and getattr(r.environments[env], vendor) for r in regions.values()
    )


def check_references(inputs: ProjectInputs) -> list[ConfigError]:
    """Every cross-file problem of one project, each located at the offending value."""
    checker = _Checker(inputs)
    checker.check_project()
    checker.check_infisical()
    checker.check_vercel()
    checker.check_supabase()
    checker.check_adopt()
    return checker.errors


class _Checker:
    def __init__(self, inputs: ProjectInputs):
        self.inputs = inputs
        self.project = inputs.project
        self.errors: list[ConfigError] = []
        self.identity_names = {i.full_name(inputs.name) for i in inputs.identities}

    def fail(self, kind: str, path: PathKey, message: str, rule: str = "schema") -> None:
        self.errors.append(ConfigError(message, location=self.inputs.locate(kind, path), rule=rule))

    def check_env(self, kind: str, path: PathKey, env: str, what: str) -> bool:
        if env in self.project.environments:
            return True
        known = ", ".join(sorted(self.project.environments))
        self.fail(
            kind,
            path,
            f"{what} names environment '{env}', which project.yaml does not "
            f"declare (declared: {known})",
        )
        return False

    # --- project.yaml -------------------------------------------------------------

    def check_project(self) -> None:
        regions = self.project.regions or {}
        for region, spec in regions.items():
            for env in spec.environments:
                self.check_env(
                    "project", ("regions", region, "environments", env), env, f"region '{region}'"
                )
        if self.project.rollout is None:
            return
        seen: set[str] = set()
        for w, wave in enumerate(self.project.rollout.waves):
            for r, region in enumerate(wave):
                path = ("rollout", "waves", w, r)
                if region not in regions:
                    self.fail(
                        "project",
                        path,
                        f"rollout wave {w + 1} names region '{region}', "
                        "which is not declared under regions",
                    )
                elif region in seen:
                    self.fail(
                        "project", path, f"region '{region}' appears in more than one rollout wave"
                    )
                seen.add(region)

    # --- identities.yaml / roles.yaml --------------------------------------------

    def check_infisical(self) -> None:
        for r, role in enumerate(self.inputs.roles):
            path = ("roles", r, "environment")
            if self.check_env("roles", path, role.environment, f"role '{role.name}'") and not (
                env_has(self.project, role.environment, "infisical")
            ):
                self.fail(
                    "roles",
                    path,
                    f"environment '{role.environment}' has no infisical slug in project.yaml",
                )
        declared = {(role.name, role.environment) for role in self.inputs.roles}
        for i, identity in enumerate(self.inputs.identities):
            path = ("identities", i, "environment")
            what = f"identity '{identity.full_name(self.inputs.name)}'"
            if self.check_env("identities", path, identity.environment, what) and not env_has(
                self.project, identity.environment, "infisical"
            ):
                self.fail(
                    "identities",
                    path,
                    f"environment '{identity.environment}' has no infisical slug in project.yaml",
                )
            for j, bound in enumerate(identity.roles):
                if (bound, identity.environment) not in declared:
                    self.fail(
                        "identities",
                        ("identities", i, "roles", j),
                        f"{what} is bound to role '{bound}', which roles.yaml does not "
                        f"declare in environment '{identity.environment}'",
                        rule="infisical.role-exists",
                    )

    # --- vercel -------------------------------------------------------------------

    def check_vercel(self) -> None:
        vercel = self.inputs.vercel
        if vercel is None:
            return
        raw = self.inputs.raw("vercel")
        sections: list[tuple[str, dict[str, Iterable[Any]]]] = [
            ("public", dict(vercel.public)),
            ("server", dict(vercel.server)),
        ]
        for section, keys in sections:
            for key, entries in keys.items():
                self.check_vercel_key(raw, section, key, list(entries))
        for key in sorted(set(vercel.public) & set(vercel.server)):
            self.fail(
                "vercel",
                ("server", key),
                f"key {key} is declared both as public and "
                "as server; Vercel keeps one value per key",
            )

    def check_vercel_key(self, raw: Any, section: str, key: str, entries: list[Any]) -> None:
        envs_seen: dict[str, int] = {}
        targets_seen: dict[str, str] = {}
        for index, entry in enumerate(entries):
            base = entry_path(raw, section, key, index)
            for e, env in enumerate(entry.environments):
                path = (*base, "environments", e)
                if not self.check_env("vercel", path, env, f"{section} variable {key}"):
                    continue
                if env in envs_seen:
                    self.fail(
                        "vercel",
                        path,
                        f"{key}: environment '{env}' appears in more than "
                        "one entry; entries must have disjoint environments",
                    )
                    continue
                envs_seen[env] = index
                targets = self.project.environments[env].vercel or []
                if not targets:
                    self.fail(
                        "vercel",
                        path,
                        f"{key}: environment '{env}' has no vercel targets in project.yaml",
                    )
                for target in targets:
                    if target in targets_seen and targets_seen[target] != env:
                        self.fail(
                            "vercel",
                            path,
                            f"{key}: environments '{targets_seen[target]}' "
                            f"and '{env}' both feed Vercel target {target}",
                        )
                    targets_seen[target] = env
            ref = getattr(entry, "ref", None)
            if ref is not None:
                self.check_ref("vercel", (*base, "ref"), ref, f"{key}")

    def check_ref(self, kind: str, path: PathKey, ref: str, what: str) -> None:
        parsed = parse_reference(ref)
        if ref.startswith(PLACEHOLDER_PREFIX):
            self.fail(
                kind,
                path,
                f"{what}: {ref} is a placeholder left by converge import (the reference "
                "could not be recovered); replace it with "
                "identity/<name>@<scope>-<env>/client-id|client-secret or "
                "secret/<env>/<path>/<NAME>",
            )
        elif parsed is None:
            self.fail(
                kind,
                path,
                f"{what}: malformed reference; expected "
                "identity/<name>@<scope>-<env>/client-id|client-secret or "
                "secret/<env>/<path>/<NAME>",
            )
        elif isinstance(parsed, IdentityRef):
            if parsed.identity not in self.identity_names:
                self.fail(
                    kind,
                    path,
                    f"{what}: reference names identity '{parsed.identity}', "
                    "which identities.yaml does not declare",
                )
        else:
            self.check_env(kind, path, parsed.environment, f"{what}: reference")

    # --- adopt (project.yaml) -----------------------------------------------------

    def check_adopt(self) -> None:
        """Each ``adopt:`` entry names a declared role, identity or Vercel key: adopting
        an object nobody declares would take it over only to delete it."""
        vercel = self.inputs.vercel
        declared = {
            "role": {role.slug() for role in self.inputs.roles},
            "identity": self.identity_names,
            "vercel": set(vercel.public) | set(vercel.server) if vercel else set(),
        }
        seen: set[str] = set()
        for index, entry in enumerate(self.project.adopt):
            kind, _, name = entry.partition("/")
            path = ("adopt", index)
            if entry in seen:
                self.fail("project", path, f"adopt names {entry} twice")
            elif name not in declared.get(kind, set()):
                where = {"role": "roles.yaml", "identity": "identities.yaml",
                         "vercel": "the Vercel file"}.get(kind, "the workspace")
                self.fail("project", path, f"adopt names {entry}, which {where} does not "
                          "declare")
            seen.add(entry)

    # --- supabase -----------------------------------------------------------------

    def check_supabase(self) -> None:
        supabase = self.inputs.supabase
        if supabase is None:
            return
        for name, provider in supabase.auth.providers.items():
            secret = provider.secret
            if secret is not None and not isinstance(secret, str):
                self.check_ref(
                    "supabase",
                    ("auth", "providers", name, "secret", "ref"),
                    secret.ref,
                    f"provider {name} secret",
                )
        if supabase.publish.vercel and self.project.targets.vercel is None:
            self.fail(
                "supabase",
                ("publish", "vercel"),
                "values are published to Vercel but project.yaml declares no targets.vercel",
            )
        for key, entry in supabase.publish.vercel.items():
            for e, env in enumerate(entry.environments):
                path = ("publish", "vercel", key, "environments", e)
                if not self.check_env("supabase", path, env, f"published variable {key}"):
                    continue
                if not env_has(self.project, env, "supabase"):
                    self.fail(
                        "supabase",
                        path,
                        f"{key}: environment '{env}' has no supabase project ref in project.yaml",
                    )
                if not self.project.environments[env].vercel:
                    self.fail(
                        "supabase",
                        path,
                        f"{key}: environment '{env}' has no vercel "
                        "targets to publish to in project.yaml",
                    )
            if self.inputs.vercel is not None and (
                key in self.inputs.vercel.public or key in self.inputs.vercel.server
            ):
                self.fail(
                    "supabase",
                    ("publish", "vercel", key),
                    f"{key} is published from Supabase and also declared in the Vercel file",
                )
