"""What a workspace names at the vendors, as the plain data the sandbox creates it from.

The sandbox serves any workspace, not only the example: when it starts for a workspace
(``converge sandbox serve``, or a command with ``target: sandbox``), and before a command
uses one already running, it is handed the vendor-side projects the workspace's projects
name and creates those it lacks (``converge_sandbox.wanted`` documents the shape and what
each emulator creates). Only ``project.yaml`` says where a project lives, so only it is
read, and only once it validates: a project whose ``project.yaml`` does not is left out
(its own commands report it) and named in ``problems``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from converge.config.models import EnvironmentTargets, Project
from converge.config.workspace import (
    SETTINGS_FILE,
    check_project_name,
    project_file_paths,
    validate_model,
)
from converge.config.yamlfile import read_yaml
from converge.errors import ConfigError, ConvergeError

# The plain data handed to the sandbox: vendor -> list of objects (JSON types only).
WorkspaceTargets = dict[str, list[dict[str, Any]]]


@dataclass
class NamedTargets:
    """The workspace's vendor-side projects, and the projects left out (with why)."""

    targets: WorkspaceTargets = field(
        default_factory=lambda: {"infisical": [], "vercel": [], "supabase": []}
    )
    problems: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any(self.targets.values())


def workspace_targets(root: Path) -> NamedTargets:
    """The vendor-side projects every project of the workspace at ``root`` names; no
    workspace there (no converge.yaml) names none."""
    named = NamedTargets()
    if not (root / SETTINGS_FILE).is_file():
        return named
    base = root / "projects"
    folders = sorted(p.name for p in base.iterdir()
                     if p.is_dir() and not p.name.startswith(".")) if base.is_dir() else []
    for name in folders:
        try:
            project = _load_project_file(root, name)
        except ConvergeError as error:
            named.problems.append(error.render())
            continue
        _add(named.targets, project)
    return named


def _load_project_file(root: Path, name: str) -> Project:
    check_project_name(name)
    source = read_yaml(root / project_file_paths(name)["project"], workspace=root)
    assert source is not None  # required=True raises instead
    errors: list[ConfigError] = []
    project = validate_model(Project, source, errors)
    if errors or project is None:
        raise errors[0] if errors else ConfigError("project.yaml is not valid")
    if project.name != name:
        raise ConfigError(f"project name {project.name!r} does not match its folder",
                          location=source.locate(("name",)))
    return project


def _add(targets: WorkspaceTargets, project: Project) -> None:
    environments: list[tuple[str | None, str, EnvironmentTargets]] = [
        (None, env, spec) for env, spec in sorted(project.environments.items())
    ]
    for region, declared in sorted((project.regions or {}).items()):
        environments += [(region, env, spec) for env, spec in sorted(declared.environments.items())]
    infisical = project.targets.infisical
    if infisical is not None:
        slugs = [spec.infisical for _, _, spec in environments if spec.infisical]
        targets["infisical"].append({
            "organization": infisical.organization, "project": infisical.project,
            "environments": list(dict.fromkeys(slugs)),
        })
    vercel = project.targets.vercel
    if vercel is not None:
        targets["vercel"].append({"team": vercel.team, "project": vercel.project})
    supabase = project.targets.supabase
    if supabase is not None:
        for where, env, spec in environments:
            if spec.supabase:
                targets["supabase"].append({
                    "organization": supabase.organization, "ref": spec.supabase,
                    "region": where, "name": f"{project.name} {where or env}",
                })
