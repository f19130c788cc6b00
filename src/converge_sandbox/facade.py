"""What the converge CLI uses of the sandbox, in the one module it imports by name.

The product never imports ``converge_sandbox`` statically (a live install carries neither
starlette, uvicorn nor PostgreSQL binaries): ``converge.cli.sandbox_loader`` imports this
module with ``importlib`` when ``converge sandbox …`` or ``target: sandbox`` needs it, and
types it with its ``SandboxApi`` protocol. Importing it pulls in what the extra
``converge[sandbox]`` installs (uvicorn here, starlette for the emulators, which the runner
imports only when a sandbox starts), so a missing extra shows up at load time, not halfway
through a command.

``start_sandbox(…, workspace=…)`` and ``ensure_projects`` take the vendor-side projects a
workspace names (plain data, ``converge_sandbox.wanted``) and create those it lacks.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import starlette  # noqa: F401  (the emulators need it; fail at load time without it)

from converge_sandbox.control import ensure_running
from converge_sandbox.registry import (
    find_workspace,
    read_running,
    reset_state,
    running_env,
    state_dir_for,
)
from converge_sandbox.runner import FAULTS_ENV, RATE_LIMITS_ENV, RunningSandbox, start_sandbox
from converge_sandbox.wanted import WantedProjects

if TYPE_CHECKING:  # mypy checks this module against what the CLI expects of it
    import converge_sandbox.facade as _this
    from converge.cli.sandbox_loader import SandboxApi

    _conforms: SandboxApi = _this


def ensure_projects(state_dir: Path, workspace: Mapping[str, Any]) -> dict[str, list[str]]:
    """Have the sandbox running on ``state_dir`` create the projects ``workspace`` (the
    plain data of ``converge_sandbox.wanted``) names that it lacks: vendor -> what was
    created. SandboxError when none runs or an emulator refuses."""
    return ensure_running(state_dir, workspace)


__all__ = [
    "FAULTS_ENV",
    "RATE_LIMITS_ENV",
    "RunningSandbox",
    "WantedProjects",
    "ensure_projects",
    "find_workspace",
    "read_running",
    "reset_state",
    "running_env",
    "start_sandbox",
    "state_dir_for",
]
