"""The workspace files of an imported project: built, checked, written (I/O at the end).

Each document is validated twice before anything is written: against its strict input
model (``config.models``), and by reading its YAML text back with the loader every
command uses (``config.yamlfile`` + ``workspace.validate_model``), so a file that would
not load is never written. Keys keep a readable order (``config.yamlwrite``). A project's
existing files are never replaced unless the caller says so (``--force``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from converge.config.models import IdentitiesFile, Project, RolesFile, SupabaseFile, VercelFile
from converge.config.workspace import Workspace, project_file_paths, validate_model
from converge.config.yamlfile import parse_yaml
from converge.config.yamlwrite import dump_workspace_yaml
from converge.errors import ConfigError, ConvergeError
from converge.importer.references import PLACEHOLDER_PREFIX
from converge.util.files import write_atomic

MODELS: Mapping[str, type[BaseModel]] = {
    "project": Project,
    "identities": IdentitiesFile,
    "roles": RolesFile,
    "vercel": VercelFile,
    "supabase": SupabaseFile,
}
IMPORTED_KINDS = tuple(MODELS)  # waivers.yaml is the team's own and never touched
PLACEHOLDER_NOTE = "  # converge import: replace with the real reference"


def imported_paths(project: str) -> dict[str, str]:
    """kind → workspace-relative path of every file an import may write."""
    paths = project_file_paths(project)
    return {kind: paths[kind] for kind in IMPORTED_KINDS}


def existing_files(workspace: Workspace, project: str) -> list[str]:
    return [rel for rel in imported_paths(project).values()
            if (workspace.root / rel).exists() or (workspace.root / rel).is_symlink()]


def refuse_overwrite(workspace: Workspace, project: str) -> None:
    """Raise unless the project has none of the files an import writes."""
    found = existing_files(workspace, project)
    if found:
        raise ConvergeError(
            f"{found[0]} already exists; converge import never replaces a project's files "
            "unless told to",
            hint=f"pass --force to replace the files of {project}, or import into another "
            "workspace",
        )


def render_documents(
    project: str, documents: Mapping[str, dict[str, Any]], *, header: str
) -> dict[str, str]:
    """kind → YAML text, each checked to load back as a valid file (a document that does
    not is a ConvergeError naming the file and key, never a value)."""
    paths = imported_paths(project)
    texts: dict[str, str] = {}
    for kind, data in documents.items():
        rel = paths[kind]
        try:
            text = dump_workspace_yaml(data, header=header)
        except ValueError as exc:
            raise ConvergeError(f"converge import could not write {rel}: {exc}") from None
        text = "\n".join(
            line + PLACEHOLDER_NOTE if f"ref: {PLACEHOLDER_PREFIX}" in line else line
            for line in text.split("\n"))
        errors: list[ConfigError] = []
        validate_model(MODELS[kind], parse_yaml(text.encode("utf-8"), rel), errors)
        if errors:
            raise ConvergeError(
                f"converge import made {errors[0].render()}, which does not validate",
                hint="this is a bug in converge import: report it with that line",
            )
        texts[kind] = text
    return texts


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def write_documents(
    workspace: Workspace, project: str, texts: Mapping[str, str], *, replace: bool
) -> tuple[list[str], list[str]]:
    """Write ``texts`` (kind → text); with ``replace``, remove the project's other
    imported files (a vendor no longer imported). Returns (written, removed) paths."""
    paths = imported_paths(project)
    root = workspace.root
    written: list[str] = []
    removed: list[str] = []
    for kind in texts:  # every target checked before the first is written
        if not _inside(root / paths[kind], root):
            raise ConvergeError(f"{paths[kind]} leads outside the workspace; nothing was "
                                "written", hint="remove the symlink")
    for kind, text in texts.items():
        target = root / paths[kind]
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, text)
        written.append(paths[kind])
    if replace:
        for kind, rel in paths.items():
            target = root / rel
            if kind not in texts and (target.is_file() or target.is_symlink()):
                target.unlink()
                removed.append(rel)
    return written, removed
