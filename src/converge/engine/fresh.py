"""The fresh render: validate, decide and render one project in memory.

``.out/<p>/`` is only ever trusted when it is byte-identical to this (``engine.trust``),
and ``decide``/``render`` write exactly these bytes, so the same function is both the
producer and the judge. Nothing here touches ``.out/``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from converge.artifacts.contract import Manifest
from converge.config.crosscheck import check_references
from converge.config.workspace import ProjectInputs, Workspace, project_file_paths
from converge.desired import DesiredState, parse_desired
from converge.errors import ConfigError, ConfigErrors
from converge.policies.contract import DECISION_FILE, Decision, build_decision
from converge.render.artifacts import render_artifacts
from converge.render.manifest import MANIFEST_FILE, manifest_document

Only = Literal["infisical", "platforms"] | None

_KINDS_OF: dict[str, set[str]] = {
    "infisical": {"project", "identities", "roles", "waivers"},
    "platforms": {"project", "vercel", "supabase", "waivers"},
}


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
    paths = project_file_paths(name)
    wanted = {paths[k] for k in _KINDS_OF[only]}
    kept = [e for e in errors if e.location is None or e.location.file in wanted]
    if not kept:
        # The selected files are fine; the others are not our concern here.
        return ConfigErrors([])
    return ConfigErrors(kept)


def evaluate_decision(
    inputs: ProjectInputs,
    *,
    policy_files: list[Path],
    policy_root: Path,
    today: dt.date,
    policy_timeout: float,
) -> Decision:
    """The decision contract the policies give ``inputs`` on ``today``: the built-in
    rules, the user policies ``policy_files`` (named relative to ``policy_root``; each
    query may take ``policy_timeout`` seconds), then the waivers."""
    from converge.policies.evaluate import evaluate_policies

    report = evaluate_policies(
        inputs,
        policy_files=policy_files,
        workspace_root=policy_root,
        today=today,
        policy_timeout=policy_timeout,
    )
    return build_decision(
        project=inputs.name,
        verdict=report.verdict,
        inputs=inputs.input_digests(),
        builtin_version=report.builtin_version,
        user_policies=report.user_policies,
        results=list(report.results),
        waivers=inputs.waivers,
    )


@dataclass(frozen=True)
class Rendering:
    """What ``.out/<p>/`` holds for one decision: the decision, the artifacts and the
    manifest that binds them, as the exact bytes render writes."""

    project: str
    decision: Decision
    artifacts: dict[str, str]  # file name -> text (decision and manifest excluded)
    manifest: Manifest

    @property
    def files(self) -> dict[str, bytes]:
        """Every file of the folder, by name."""
        files = {name: text.encode("utf-8") for name, text in self.artifacts.items()}
        files[DECISION_FILE] = self.decision.text().encode("utf-8")
        files[MANIFEST_FILE] = self.manifest.to_json().encode("utf-8")
        return files

    def desired(self) -> DesiredState:
        """The desired state these artifacts describe (parsed back from their text, as
        the engine always reads artifacts)."""
        return parse_desired(
            self.project, self.decision.decision_id, self.manifest.digest, self.artifacts
        )


def render_inputs(inputs: ProjectInputs, decision: Decision) -> Rendering:
    """The artifacts of ``inputs`` and the manifest binding them to ``decision``."""
    artifacts = render_artifacts(inputs)
    manifest = manifest_document(inputs.name, decision.decision_id, artifacts)
    return Rendering(inputs.name, decision, artifacts, manifest)


def render_in_memory(workspace: Workspace, name: str, *, today: dt.date | None = None) -> Rendering:
    """Validate, decide and render ``name`` from the workspace's current inputs and user
    policies; write nothing. Invalid inputs raise ConfigErrors (or a ConfigError for a
    broken policy), as ``validate`` and ``decide`` report them."""
    inputs = load_valid_project(workspace, name)
    decision = evaluate_decision(
        inputs,
        policy_files=workspace.policy_files(),
        policy_root=workspace.root,
        today=today or dt.date.today(),
        policy_timeout=workspace.settings.policy_timeout_seconds,
    )
    return render_inputs(inputs, decision)
