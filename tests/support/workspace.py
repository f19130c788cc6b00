"""Desired states as the engine would load them: a copy of examples/workspace, decided
and rendered, its artifacts parsed. Vendor tests plan against these instead of hand-made
fixtures so a change to the example or the renderer is seen by the reconcilers."""

from __future__ import annotations

import shutil
from pathlib import Path

from converge.config.workspace import open_workspace
from converge.desired import DesiredState, parse_desired
from converge.engine.pipeline import decide_project, render_project
from converge.policies.contract import DECISION_FILE
from converge.render.manifest import MANIFEST_FILE

EXAMPLE_WORKSPACE = Path(__file__).resolve().parents[2] / "examples" / "workspace"


def copy_example_workspace(target: Path) -> Path:
    """A writable copy of examples/workspace without rendered output, state or logs."""
    shutil.copytree(EXAMPLE_WORKSPACE, target,
                    ignore=shutil.ignore_patterns(".out", ".converge", "*.log"))
    return target


def render_desired(root: Path, project: str) -> DesiredState:
    """Decide and render ``project`` in the workspace at ``root``; parse its artifacts."""
    workspace = open_workspace(root)
    decide_project(workspace, project)
    result = render_project(workspace, project)
    artifacts = {name: (result.out_dir / name).read_text() for name in result.files
                 if name not in (DECISION_FILE, MANIFEST_FILE)}
    return parse_desired(project, result.decision_id, "sha256:test", artifacts)
