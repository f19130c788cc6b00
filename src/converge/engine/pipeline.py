"""validate → decide → render for one project: the first three stages of DESIGN §1.

Each stage refuses stale or tampered input from the stage before, and writes its files
only when everything succeeded (never a half-written ``.out/<p>/``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from converge.config.crosscheck import check_references
from converge.config.workspace import ProjectInputs, Workspace
from converge.errors import ConfigError, ConfigErrors, PolicyDenied, StaleArtifactError
from converge.policies.contract import (
    DECISION_FILE,
    Decision,
    build_decision,
    check_current,
    load_decision,
)
from converge.render.artifacts import render_artifacts
from converge.render.manifest import MANIFEST_FILE, build_manifest, verify_artifacts
from converge.util.canonical import sha256_hex
from converge.util.files import write_atomic_files

Only = Literal["infisical", "platforms"] | None

_KINDS_OF: dict[str, set[str]] = {
    "infisical": {"project", "identities", "roles", "waivers"},
    "platforms": {"project", "vercel", "supabase", "waivers"},
}


@dataclass(frozen=True)
class RenderResult:
    project: str
    out_dir: Path
    files: list[str]
    decision_id: str


@dataclass(frozen=True)
class RenderCheck:
    project: str
    differences: list[str] = field(default_factory=list)

    @property
    def current(self) -> bool:
        return not self.differences


def load_valid_project(workspace: Workspace, name: str, *, only: Only = None) -> ProjectInputs:
    """Load a project and run the cross-file checks; raise ConfigErrors with every problem.

    ``only`` limits the report to the Infisical or the platform (Vercel, Supabase) files.
    """
    try:
        inputs = workspace.load_project(name)
    except ConfigErrors as exc:
        raise _filtered(exc.errors, name, only) from None
    errors = check_references(inputs)
    if errors:
        raise _filtered(errors, name, only)
    return inputs


def _filtered(errors: list[ConfigError], name: str, only: Only) -> ConfigErrors:
    if only is None:
        return ConfigErrors(errors)
    from converge.config.workspace import project_file_paths

    paths = project_file_paths(name)
    wanted = {paths[k] for k in _KINDS_OF[only]}
    kept = [e for e in errors if e.location is None or e.location.file in wanted]
    if not kept:
        # The selected files are fine; the others are not our concern here.
        return ConfigErrors([])
    return ConfigErrors(kept)


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
    from converge.policies.evaluate import evaluate_policies

    inputs = load_valid_project(workspace, name)
    files = workspace.policy_files()
    report = evaluate_policies(
        inputs, policy_files=files, workspace_root=workspace.root, today=today or dt.date.today(),
        policy_timeout=workspace.settings.policy_timeout_seconds,
    )
    decision = build_decision(
        project=name,
        verdict=report.verdict,
        inputs=inputs.input_digests(),
        builtin_version=report.builtin_version,
        user_policies=report.user_policies,
        results=list(report.results),
        waivers=inputs.waivers,
    )
    write_files(workspace.out_dir(name), {DECISION_FILE: decision.text()})
    return decision


def current_decision(workspace: Workspace, inputs: ProjectInputs) -> Decision:
    """The project's decision, refused if missing, edited, stale or deny."""
    decision = load_decision(workspace.out_dir(inputs.name), inputs.name)
    check_current(
        decision,
        inputs=inputs.input_digests(),
        user_policies=user_policy_digests(workspace),
    )
    if decision.verdict != "allow":
        raise PolicyDenied(
            f"decision for {inputs.name} is deny; render refuses it",
            hint=f"fix the failures shown by make decision PROJECT={inputs.name}",
        )
    return decision


def user_policy_digests(workspace: Workspace) -> dict[str, str]:
    """Workspace-relative path -> sha256 of every user policy file."""
    return {
        path.relative_to(workspace.root).as_posix(): sha256_hex(path.read_bytes())
        for path in workspace.policy_files()
    }


def expected_files(workspace: Workspace, name: str) -> tuple[Decision, dict[str, str]]:
    """What ``.out/<p>/`` must hold (artifacts and manifest) for the current decision."""
    inputs = load_valid_project(workspace, name)
    decision = current_decision(workspace, inputs)
    artifacts = render_artifacts(inputs)
    files = dict(artifacts)
    files[MANIFEST_FILE] = build_manifest(name, decision.decision_id, artifacts)
    return decision, files


def render_project(workspace: Workspace, name: str) -> RenderResult:
    """Render the artifacts of an allowing, current decision into ``.out/<p>/``."""
    decision, files = expected_files(workspace, name)
    out_dir = workspace.out_dir(name)
    write_files(out_dir, files, remove_others=True)
    return RenderResult(
        project=name,
        out_dir=out_dir,
        files=sorted([DECISION_FILE, *files]),
        decision_id=decision.decision_id,
    )


def check_render(workspace: Workspace, name: str) -> RenderCheck:
    """Compare ``.out/<p>/`` with a fresh render (``render --check``)."""
    out_dir = workspace.out_dir(name)
    try:
        decision, files = expected_files(workspace, name)
    except StaleArtifactError as exc:
        return RenderCheck(name, [exc.message])
    differences: list[str] = []
    try:
        verify_artifacts(out_dir, name, decision.decision_id)
    except StaleArtifactError as exc:
        differences.append(exc.message)
    on_disk = {p.name for p in out_dir.iterdir() if p.is_file()} if out_dir.is_dir() else set()
    for file_name in sorted(set(files) | (on_disk - {DECISION_FILE})):
        path = out_dir / file_name
        if file_name not in files:
            differences.append(f"{out_dir.name}/{file_name} is not produced by a fresh render")
        elif not path.is_file():
            differences.append(f"{out_dir.name}/{file_name} is missing")
        elif path.read_bytes() != files[file_name].encode("utf-8"):
            differences.append(f"{out_dir.name}/{file_name} differs from a fresh render")
    return RenderCheck(name, list(dict.fromkeys(differences)))


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
