"""Find a workspace and load a project's input files into validated models.

Loading collects every problem of every file (each a ConfigError located at
``file:line:column``) before raising them together, so a user fixes a file in one pass.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from converge.config.models import (
    NAME_PATTERN,
    IdentitiesFile,
    Identity,
    Project,
    Role,
    RolesFile,
    SupabaseFile,
    VercelFile,
    Waiver,
    WaiversFile,
    WorkspaceSettings,
)
from converge.config.paths import checked_settings, out_dir_inside, policy_file_inside
from converge.config.yamlfile import SourceFile, read_yaml
from converge.errors import ConfigError, ConfigErrors, Location

SETTINGS_FILE = "converge.yaml"
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class ProjectInputs:
    """Everything the workspace says about one project, validated, with its sources."""

    name: str
    project: Project
    identities: tuple[Identity, ...]
    roles: tuple[Role, ...]
    vercel: VercelFile | None
    supabase: SupabaseFile | None
    waivers: tuple[Waiver, ...]
    sources: dict[str, SourceFile]

    def source(self, kind: str) -> SourceFile:
        """The file of ``kind`` (project, identities, roles, vercel, supabase, waivers)."""
        return self.sources[kind]

    def locate(self, kind: str, path: tuple[str | int, ...] = ()) -> Location:
        src = self.sources.get(kind)
        return src.locate(path) if src else Location(self.relative_path(kind))

    def relative_path(self, kind: str) -> str:
        return project_file_paths(self.name)[kind]

    def input_digests(self) -> dict[str, str]:
        """Workspace-relative path -> sha256 of every input file that exists."""
        return {src.path: src.digest for src in sorted(self.sources.values(), key=lambda s: s.path)}

    def binding_name(self, identity: Identity, role: str) -> str:
        """``token-service-runtime-binding`` as the brief names it; when that name would be
        shared by identities of several environments or scopes (analytics binds
        ``dashboard`` in prod and preview), the identity's full name is used instead."""
        plain = identity.binding_name(role)
        sharing = [i for i in self.identities if role in i.roles and i.binding_name(role) == plain]
        if len(sharing) <= 1:
            return plain
        return f"{identity.full_name(self.name)}-{role}-binding"

    def raw(self, kind: str) -> Any:
        src = self.sources.get(kind)
        return src.data if src else None


def project_file_paths(name: str) -> dict[str, str]:
    return {
        "project": f"projects/{name}/project.yaml",
        "identities": f"projects/{name}/identities.yaml",
        "waivers": f"projects/{name}/waivers.yaml",
        "roles": f"data/infisical/{name}/roles.yaml",
        "vercel": f"data/platforms/vercel/{name}.yaml",
        "supabase": f"data/platforms/supabase/{name}.yaml",
    }


def check_project_name(name: str) -> None:
    """Refuse a project name that could escape the workspace or break artifact paths."""
    if not re.fullmatch(NAME_PATTERN, name):
        raise ConfigError(
            f"invalid project name {name!r}: use lower-case letters, digits and '-' only",
            hint="project names become folder names; '/', '..', spaces and upper case are refused",
        )


@dataclass(frozen=True)
class Workspace:
    root: Path
    settings: WorkspaceSettings
    settings_source: SourceFile | None

    @property
    def out_root(self) -> Path:
        return self.root / self.settings.out

    def out_dir(self, project: str) -> Path:
        """``<out>/<project>``; refused when a symlink there leads outside the workspace."""
        check_project_name(project)
        return out_dir_inside(self.root, self.settings.out, project)

    @property
    def state_dir(self) -> Path:
        return self.root / ".converge"

    def project_names(self) -> list[str]:
        """Every folder under ``projects/``, sorted (names are checked when loaded)."""
        base = self.root / "projects"
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))

    def policy_files(self) -> list[Path]:
        """Every ``*.rego`` of the policies folder; one linked from outside is refused."""
        folder = self.root / self.settings.policies
        if not folder.is_dir():
            return []
        files = sorted(folder.glob("*.rego"))
        for path in files:
            policy_file_inside(self.root, path)
        return files

    def load_project(self, name: str) -> ProjectInputs:
        return load_project(self, name)


def find_workspace(start: Path | None = None) -> Path:
    """The nearest directory at or above ``start`` that holds converge.yaml."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / SETTINGS_FILE).is_file():
            return candidate
    raise ConfigError(
        f"no {SETTINGS_FILE} found in {here.name or '/'} or any parent folder",
        hint="run inside a workspace or pass --workspace DIR",
    )


def open_workspace(root: Path | None = None) -> Workspace:
    """Open the workspace at ``root`` (or the nearest one above the current folder)."""
    if root is None:
        root = find_workspace()
    root = root.resolve()
    if not root.is_dir():
        raise ConfigError(f"workspace folder {root.name} does not exist")
    source = read_yaml(root / SETTINGS_FILE, workspace=root, required=False)
    if source is None:
        raise ConfigError(
            f"{SETTINGS_FILE} is missing",
            location=Location(SETTINGS_FILE),
            hint="every workspace has a converge.yaml at its root",
        )
    errors: list[ConfigError] = []
    settings = validate_model(WorkspaceSettings, source, errors)
    if errors or settings is None:
        raise ConfigErrors(errors)
    settings, problems = checked_settings(root, settings, source)
    if problems:
        raise ConfigErrors(problems)
    return Workspace(root=root, settings=settings, settings_source=source)


def load_project(workspace: Workspace, name: str) -> ProjectInputs:
    """Load and validate every input file of ``name``; raise ConfigErrors listing all problems."""
    check_project_name(name)
    paths = project_file_paths(name)
    root = workspace.root
    folder = root / "projects" / name
    if not folder.is_dir():
        raise ConfigError(
            f"unknown project {name!r}: there is no folder projects/{name}",
            hint=_suggest(name, workspace.project_names()),
        )
    errors: list[ConfigError] = []
    sources: dict[str, SourceFile] = {}
    unreadable: set[str] = set()
    for kind, rel in paths.items():
        try:
            src = read_yaml(root / rel, workspace=root, required=kind == "project")
        except ConfigError as exc:
            errors.append(exc)
            unreadable.add(kind)
            continue
        if src is not None:
            sources[kind] = src
    if "project" not in sources:
        raise ConfigErrors(errors)

    project = validate_model(Project, sources["project"], errors)
    if project is not None and project.name != name:
        errors.append(
            ConfigError(
                f"project name {project.name!r} does not match its folder projects/{name}",
                location=sources["project"].locate(("name",)),
            )
        )
    identities = _optional(IdentitiesFile, sources.get("identities"), errors)
    roles = _optional(RolesFile, sources.get("roles"), errors)
    vercel = _optional(VercelFile, sources.get("vercel"), errors)
    supabase = _optional(SupabaseFile, sources.get("supabase"), errors)
    waivers = _optional(WaiversFile, sources.get("waivers"), errors)

    if project is not None:
        present = set(sources) | unreadable
        _check_required_files(project, present, paths, errors)
    if errors or project is None:
        raise ConfigErrors(errors)
    return ProjectInputs(
        name=name,
        project=project,
        identities=tuple(identities.identities) if identities else (),
        roles=tuple(roles.roles) if roles else (),
        vercel=vercel,
        supabase=supabase,
        waivers=tuple(waivers.waivers) if waivers else (),
        sources=sources,
    )


def _check_required_files(
    project: Project,
    present: set[str],
    paths: dict[str, str],
    errors: list[ConfigError],
) -> None:
    """A declared vendor target needs its file; a file needs its declared target."""
    needs = {
        "identities": project.targets.infisical is not None,
        "roles": project.targets.infisical is not None,
        "vercel": project.targets.vercel is not None,
        "supabase": project.targets.supabase is not None,
    }
    vendor_of = {
        "identities": "infisical",
        "roles": "infisical",
        "vercel": "vercel",
        "supabase": "supabase",
    }
    for kind, needed in needs.items():
        if needed and kind not in present:
            errors.append(
                ConfigError(
                    f"required file is missing (targets.{vendor_of[kind]} is declared in "
                    f"{paths['project']})",
                    location=Location(paths[kind]),
                )
            )
        elif not needed and kind in present:
            errors.append(
                ConfigError(
                    f"file present but {paths['project']} declares no targets.{vendor_of[kind]}",
                    location=Location(paths[kind]),
                )
            )


def _optional(
    model: type[ModelT], src: SourceFile | None, errors: list[ConfigError]
) -> ModelT | None:
    return validate_model(model, src, errors) if src is not None else None


def validate_model(
    model: type[ModelT], src: SourceFile, errors: list[ConfigError]
) -> ModelT | None:
    """Validate ``src.data`` against ``model``; append located errors and return None on failure."""
    data = src.data if src.data is not None else {}
    if not isinstance(data, dict):
        errors.append(
            ConfigError("expected a mapping at the top of the file", location=src.locate())
        )
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_input=False, include_url=False):
            errors.append(
                ConfigError(_describe(err, src, model), location=src.locate(tuple(err["loc"])))
            )
        return None


def _describe(err: Any, src: SourceFile, model: type[BaseModel]) -> str:
    """A pydantic error as one sentence that names the key, never the offending value."""
    loc = [p for p in err["loc"] if isinstance(p, (str, int))]
    dotted = ".".join(str(p) for p in loc) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else "?"
        return f"unknown key '{key}'" + _did_you_mean(key, _siblings(src, loc))
    if kind == "missing":
        return f"missing required key '{loc[-1] if loc else '?'}'"
    msg = str(err["msg"]).replace("Value error, ", "")
    return f"{dotted}: {msg[:1].lower()}{msg[1:]}"


def _siblings(src: SourceFile, loc: list[str | int]) -> list[str]:
    # Known keys are not available from the data; suggest from common field names instead.
    from converge.config import models

    names: set[str] = set()
    for obj in vars(models).values():
        if isinstance(obj, type) and issubclass(obj, BaseModel):
            names.update(obj.model_fields)
            names.update(f.alias for f in obj.model_fields.values() if f.alias)
    return sorted(names)


def _did_you_mean(key: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(key, [c for c in candidates if c != key], n=1, cutoff=0.75)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _suggest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"known projects: {', '.join(known)}" if known else "the workspace has no projects"
