"""Keep every path that ``converge.yaml`` names inside the workspace.

Why: ``converge.yaml`` arrives in pull requests like any other file, and commands write
where it points: ``render`` replaces and deletes files under ``out``, ``apply`` appends to
``audit_log`` and opens the journal at ``state``, ``decide`` reads every ``*.rego`` under
``policies``. ``out: ../vroot`` once made ``render`` delete unrelated files next to the
workspace. So, when the workspace is opened (every command does it first), each path is
resolved -- ``..`` and symlinks followed -- and refused, at its line in ``converge.yaml``,
unless it stays inside the workspace; written paths may also not land in the input
folders. Paths are then kept in one normal, workspace-relative form.

A ``postgresql://`` URL in ``state`` is not a path and is left alone (and never printed:
it may carry a password).
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

from converge.config.models import WorkspaceSettings
from converge.config.yamlfile import SourceFile
from converge.errors import ConfigError, Location

POSTGRES_URL = re.compile(r"postgres(ql)?://")
# Folders whose files are inputs (or git's own): nothing converge writes may go there.
INPUT_FOLDERS = ("projects", "data", ".git")
WRITTEN = ("out", "state", "audit_log")
STATE_FOLDER = ".converge"  # locks, fingerprint key, sandbox state: whatever ``state`` says


def checked_settings(
    root: Path, settings: WorkspaceSettings, source: SourceFile
) -> tuple[WorkspaceSettings, list[ConfigError]]:
    """``settings`` with its paths made workspace-relative, and every problem found."""
    errors: list[ConfigError] = []
    normal: dict[str, str] = {}
    written: dict[str, str] = {}
    for key in ("state", "out", "policies", "audit_log"):
        value: str = getattr(settings, key)
        if key == "state" and POSTGRES_URL.match(value):
            continue
        where = _where(source, key, value)
        relative = _relative(root, value)
        if relative is None or not _resolves_inside(root, value):
            # The state value is never echoed: a mistyped database URL may hold a password.
            shown = "the path" if key == "state" else repr(value)
            errors.append(ConfigError(
                f"{key}: {shown} leads outside the workspace (through '..', an absolute "
                "path or a symlink)",
                location=where,
                hint="every path in converge.yaml must stay inside the workspace folder",
            ))
            continue
        normal[key] = relative
        if key in WRITTEN:
            written[key] = relative
    if not _resolves_inside(root, STATE_FOLDER):
        errors.append(ConfigError(
            "symlink leads outside the workspace", location=Location(STATE_FOLDER),
            hint=f"{STATE_FOLDER} holds locks and keys; remove the symlink",
        ))
    if "policies" in normal:
        errors += _check_policies(root, normal["policies"], source, settings.policies)
    for key, relative in written.items():
        problem = _written_problem(key, relative, normal.get("policies"))
        if problem:
            errors.append(ConfigError(problem, location=_where(source, key, relative),
                                      hint="keep the default (.out, .converge/state.db, "
                                      "reconciliation.log) unless you need another place"))
    return settings.model_copy(update=normal), errors


def out_dir_inside(root: Path, out: str, project: str) -> Path:
    """``<out>/<project>``, refused when it (a committed symlink, say) leads outside."""
    path = root / out / project
    if not _inside(path.resolve(), root.resolve()):
        raise ConfigError(
            "symlink leads outside the workspace",
            location=Location(f"{out}/{project}"),
            hint="remove the symlink; rendered files are written to a real folder",
        )
    return path


def policy_file_inside(root: Path, path: Path) -> None:
    """Refuse a policy file that is a symlink leading outside the workspace."""
    if not _inside(path.resolve(), root.resolve()):
        raise ConfigError(
            "symlink leads outside the workspace",
            location=Location(path.relative_to(root).as_posix()),
            hint="copy the policy into the workspace instead of linking to it",
        )


def _where(source: SourceFile, key: str, value: str) -> Location:
    """The key's line when converge.yaml sets it; else the (default) path itself."""
    data = source.data if isinstance(source.data, dict) else {}
    return source.locate((key,)) if key in data else Location(value)


def _relative(root: Path, value: str) -> str | None:
    """``value`` as a normal workspace-relative POSIX path, or None when it leaves the
    workspace lexically (an absolute path elsewhere, too many ``..``)."""
    if not value.strip():
        return None
    joined = os.path.normpath(os.path.join(root, value))
    try:
        return Path(joined).relative_to(root).as_posix()
    except ValueError:
        return None


def _resolves_inside(root: Path, value: str) -> bool:
    """Whether the path stays inside once every existing symlink on it is followed."""
    return _inside((root / value).resolve(), root.resolve())


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _check_policies(
    root: Path, relative: str, source: SourceFile, value: str
) -> list[ConfigError]:
    """A ``policies`` folder named in converge.yaml must exist: a missing one used to drop
    every user policy silently, turning a deny into an allow."""
    data = source.data if isinstance(source.data, dict) else {}
    folder = root / relative
    if folder.is_dir():
        return []
    if folder.exists():
        return [ConfigError(f"policies: {value!r} is not a folder",
                            location=_where(source, "policies", value))]
    if "policies" not in data:
        return []  # the default folder is optional
    return [ConfigError(
        f"policies: folder {value!r} does not exist, so no user policy would run",
        location=_where(source, "policies", value),
        hint="create the folder, fix the path, or remove the policies line",
    )]


def _written_problem(key: str, relative: str, policies: str | None) -> str | None:
    parts = PurePosixPath(relative).parts
    shown = "the path" if key == "state" else repr(relative)  # never echo a state URL
    what = "rendered files need a folder of its own" if key == "out" else (
        f"{key} needs a place of its own")
    if relative == ".":
        return f"{key}: '.' is the workspace itself; {what} such as .out"
    if parts and parts[0] in INPUT_FOLDERS:
        return f"{key}: {shown} is inside {parts[0]}/, where the inputs live; {what}"
    if policies is not None and policies != "." and (
        relative == policies or relative.startswith(policies + "/")
    ):
        return f"{key}: {shown} is inside the policies folder; {what}"
    return None
