"""Where a run talks to: the live vendors, or the local sandbox.

``target: sandbox`` (the example workspace's default) points converge at the emulators
through the very same variables a live run reads (``VERCEL_API_URL``, ``VERCEL_TOKEN``, …),
so the sandbox exercises exactly the live code path. A sandbox already running for the
workspace (``converge sandbox serve``) is used once it holds the vendor-side projects the
workspace names (the CLI has it create those it lacks, ``sandbox_names``); otherwise one is
started in this process for the duration of the command, on the workspace's persisted
state, and creates them as it starts.

The sandbox is an optional package (``converge[sandbox]``): it lives in the CLI layer and is
loaded only when the target is ``sandbox`` (``sandbox_loader``), so ``target: live`` works
in an install without it, and ``target: sandbox`` there says how to install it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from converge.cli.sandbox_loader import load_sandbox
from converge.cli.sandbox_names import workspace_targets
from converge.config.workspace import Workspace
from converge.errors import ConfigError

Target = Literal["live", "sandbox"]
SANDBOX_VARIABLES = (
    "INFISICAL_API_URL",
    "INFISICAL_CLIENT_ID",
    "INFISICAL_CLIENT_SECRET",
    "INFISICAL_TOKEN",
    "VERCEL_API_URL",
    "VERCEL_TOKEN",
    "SUPABASE_API_URL",
    "SUPABASE_ACCESS_TOKEN",
)


def resolve_target(workspace: Workspace, requested: str | None) -> Target:
    target = requested or os.environ.get("CONVERGE_TARGET") or workspace.settings.target
    if target not in ("live", "sandbox"):
        raise ConfigError(f"unknown target {target!r}: use live or sandbox")
    return "live" if target == "live" else "sandbox"


@contextmanager
def vendor_environment(workspace: Workspace, target: Target) -> Iterator[dict[str, str]]:
    """The environment vendor clients read for this run (credentials and base URLs)."""
    base = dict(os.environ)
    if target == "live":
        yield base
        return
    api = load_sandbox()
    state_dir = api.state_dir_for(workspace.root)
    named = workspace_targets(workspace.root).targets
    if api.read_running(state_dir) is not None:
        api.ensure_projects(state_dir, named)
        yield _without_live_credentials(base) | api.running_env(state_dir)
        return
    with api.start_sandbox(state_dir, workspace=named) as sandbox:
        sandbox.wait_seeded()
        yield _without_live_credentials(base) | sandbox.env


def _without_live_credentials(env: dict[str, str]) -> dict[str, str]:
    """A sandbox run must never pick up a real token left in the shell."""
    dropped = set(SANDBOX_VARIABLES) | {"SUPABASE_DB_URL"}
    return {k: v for k, v in env.items() if k not in dropped}
