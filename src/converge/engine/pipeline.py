"""validate → decide → render for one project: the first three stages of architecture §1.

Each stage refuses stale or tampered input from the stage before, and writes its files
only when everything succeeded (never a half-written ``.out/<p>/``). What is written is
exactly the fresh render of ``engine.fresh``; what is read back is trusted only when it
still is (``engine.trust``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from converge.config.workspace import ProjectInputs, Workspace
from converge.engine.fresh import (
    Only,
    evaluate_decision,
    load_valid_project,
    render_in_memory,
)
from converge.engine.trust import (
    explain_mismatch,
    out_label,
    read_out_folder,
    restored_revision,
    trusted_artifacts,
)
from converge.errors import ConfigError, ConfigErrors, PolicyDenied, StaleArtifactError
from converge.policies.contract import DECISION_FILE, Decision
from converge.util.canonical import sha256_hex
from converge.util.files import write_atomic_files

__all__ = [
    "Only",
    "RenderCheck",
    "RenderResult",
    "check_render",
    "decide_project",
    "load_valid_project",
    "render_project",
    "user_policy_digests",
    "validate_project",
    "write_files",
]


@dataclass(frozen=True)
class RenderResult:
    """What ``render`` did: ``files`` written into ``out_dir``, or, with ``restored``,
    kept as they are because they hold that earlier revision, verified (the brief's
    rollback recipe)."""

    project: str
    out_dir: Path
    files: list[str]
    decision_id: str
    restored: str | None = None


@dataclass(frozen=True)
class RenderCheck:
    project: str
    differences: list[str] = field(default_factory=list)
    restored: str | None = None  # the earlier revision the folder holds, verified

    @property
    def current(self) -> bool:
        return not self.differences


def validate_project(workspace: Workspace, name: str, *, only: Only = None) -> ProjectInputs | None:
    """Schema + cross-file checks. Returns the inputs, or None when ``only`` hid all errors."""
    try:
        return load_valid_project(workspace, name, only=only)
    except ConfigErrors as exc:
        if exc.errors:
            raise
        return None


def decide_project(workspace: Workspace, name: str, *, today: dt.date | None = None) -> Decision:
    """Evaluate every policy and write ``.out/<p>/decision.json`` (also on deny)."""
    inputs = load_valid_project(workspace, name)
    decision = evaluate_decision(
        inputs,
        policy_files=workspace.policy_files(),
        policy_root=workspace.root,
        today=today or dt.date.today(),
        policy_timeout=workspace.settings.policy_timeout_seconds,
    )
    write_files(workspace.out_dir(name), {DECISION_FILE: decision.text()})
    return decision


def user_policy_digests(workspace: Workspace) -> dict[str, str]:
    """Workspace-relative path -> sha256 of every user policy file."""
    return {
        path.relative_to(workspace.root).as_posix(): sha256_hex(path.read_bytes())
        for path in workspace.policy_files()
    }


def render_project(
    workspace: Workspace, name: str, *, today: dt.date | None = None
) -> RenderResult:
    """Render the artifacts of an allowing, current decision into ``.out/<p>/``.

    The decision on disk must be the one the policies give the current inputs today,
    byte for byte (``make decision`` writes it); its verdict is never read on its word.
    When ``.out/<p>/`` instead holds an earlier revision restored from git (the brief's
    rollback recipe) that passes verification, the files are kept as they are."""
    out_dir = workspace.out_dir(name)
    rel = out_label(workspace, name)
    disk = read_out_folder(out_dir, rel)
    try:
        fresh = render_in_memory(workspace, name, today=today)
    except (ConfigError, ConfigErrors):
        kept = _kept(workspace, name, out_dir, disk, today)
        if kept is not None:
            return kept
        raise
    expected = fresh.files
    if disk.get(DECISION_FILE) != expected[DECISION_FILE]:
        kept = _kept(workspace, name, out_dir, disk, today)
        if kept is not None:
            return kept
        raise explain_mismatch(disk, fresh, project=name, rel=rel, current=True)
    if fresh.decision.verdict != "allow":
        raise PolicyDenied(
            f"decision for {name} is deny; render refuses it",
            hint=f"fix the failures shown by make decision PROJECT={name}",
        )
    files = {name_: data.decode("utf-8") for name_, data in expected.items()}
    del files[DECISION_FILE]
    write_files(out_dir, files, remove_others=True)
    return RenderResult(
        project=name,
        out_dir=out_dir,
        files=sorted(expected),
        decision_id=fresh.decision.decision_id,
    )


def _kept(
    workspace: Workspace, name: str, out_dir: Path, disk: dict[str, bytes], today: dt.date | None
) -> RenderResult | None:
    restored = restored_revision(workspace, name, disk, today=today)
    if restored is None:
        return None
    return RenderResult(
        project=name,
        out_dir=out_dir,
        files=sorted(disk),
        decision_id=restored.rendering.decision.decision_id,
        restored=restored.revision,
    )


def check_render(workspace: Workspace, name: str, *, today: dt.date | None = None) -> RenderCheck:
    """Compare ``.out/<p>/`` with a fresh render (``render --check``): the first
    difference as the trust gate words it, then every file that differs."""
    try:
        trusted = trusted_artifacts(workspace, name, today=today)
    except StaleArtifactError as exc:
        found = [exc.message, *_differing_files(workspace, name, today)]
        return RenderCheck(name, list(dict.fromkeys(found)))
    return RenderCheck(name, restored=trusted.revision)


def _differing_files(workspace: Workspace, name: str, today: dt.date | None) -> list[str]:
    rel = out_label(workspace, name)
    try:
        disk = read_out_folder(workspace.out_dir(name), rel)
        expected = render_in_memory(workspace, name, today=today).files
    except (ConfigError, ConfigErrors, StaleArtifactError):
        return []
    differences: list[str] = []
    for file_name in sorted(set(expected) | set(disk)):
        if file_name not in expected:
            differences.append(f"{rel}/{file_name} is not produced by a fresh render")
        elif file_name not in disk:
            differences.append(f"{rel}/{file_name} is missing")
        elif disk[file_name] != expected[file_name]:
            differences.append(f"{rel}/{file_name} differs from a fresh render")
    return differences


def write_files(out_dir: Path, files: dict[str, str], *, remove_others: bool = False) -> None:
    """Write every file (LF, UTF-8) atomically (``util.files``): all are staged before
    the first one replaces its old version.

    With ``remove_others``, artifacts left over from an earlier render are removed (the
    decision file is kept).
    """
    write_atomic_files(out_dir, files)
    if remove_others:
        keep = set(files) | {DECISION_FILE}
        for path in out_dir.iterdir():
            if path.is_file() and path.name not in keep and not path.name.startswith("."):
                path.unlink()
