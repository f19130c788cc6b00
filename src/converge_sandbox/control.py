"""How another process asks a running sandbox to create the projects a workspace names.

A sandbox started by ``converge sandbox serve`` keeps serving while the user adds projects
to the workspace; before a later ``converge`` command uses it, the CLI sends the
workspace's description (``wanted``) to ``POST /__sandbox/workspace`` on each vendor's
port (``middleware``), and each emulator creates its missing projects.

The endpoint is sandbox-only and authenticated: the running sandbox writes a fresh random
control token to ``<state>/control.key`` (mode 0600, removed when it stops), and only a
process that can read the workspace's state folder can present it. The token is never
printed, logged or exported: vendor clients have no use for it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import httpx

from converge.errors import SandboxError
from converge_sandbox.registry import CONTROL_FILE, VENDORS, read_running
from converge_sandbox.wanted import WantedProjects, parse_wanted

WORKSPACE_PATH = "/__sandbox/workspace"


def new_control_token() -> str:
    return secrets.token_urlsafe(32)


def write_control_token(state_dir: Path, token: str) -> None:
    """``<state>/control.key``, readable by its owner only (written before it is named)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    tmp = state_dir / (CONTROL_FILE + f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token)
    tmp.replace(state_dir / CONTROL_FILE)


def remove_control_token(state_dir: Path, token: str) -> None:
    """Remove ``control.key`` if it still holds ``token`` (a newer sandbox's stays)."""
    if read_control_token(state_dir) == token:
        (state_dir / CONTROL_FILE).unlink(missing_ok=True)


def read_control_token(state_dir: Path) -> str | None:
    try:
        return (state_dir / CONTROL_FILE).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def ensure_running(state_dir: Path, wanted: object, *, timeout: float = 120.0
                   ) -> dict[str, list[str]]:
    """Have the sandbox running on ``state_dir`` create the missing projects ``wanted``
    (the plain shape of ``converge_sandbox.wanted``) names: vendor -> lines created.

    SandboxError when none runs, it has no control token (an older sandbox: restart it),
    or an emulator refuses or fails."""
    try:
        parsed: WantedProjects = parse_wanted(wanted)
    except ValueError as exc:
        raise SandboxError(f"the workspace description is not valid: {exc}") from None
    info = read_running(state_dir)
    if info is None:
        raise SandboxError(
            f"no sandbox is running for {state_dir.parent.parent}",
            hint="start one with `converge sandbox serve`",
        )
    created: dict[str, list[str]] = {vendor: [] for vendor in VENDORS}
    if parsed.empty:
        return created
    token = read_control_token(state_dir)
    if token is None:
        raise SandboxError(
            "the running sandbox takes no workspace projects (it has no control token)",
            hint="restart `converge sandbox serve` so it serves this workspace's projects",
        )
    body = parsed.to_plain()
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(timeout=timeout, trust_env=False) as client:
        for vendor in VENDORS:
            url = info.url(vendor) + WORKSPACE_PATH
            try:
                response = client.post(url, json=body, headers=headers)
            except httpx.HTTPError as exc:
                raise SandboxError(
                    f"the sandbox's {vendor} emulator did not answer ({type(exc).__name__})",
                    hint="check that `converge sandbox serve` still runs",
                ) from None
            if response.status_code != 200:
                message = _message(response)
                raise SandboxError(
                    f"the sandbox's {vendor} emulator could not create the workspace's "
                    f"projects ({response.status_code}: {message})",
                    hint="restart `converge sandbox serve`",
                )
            created[vendor] = [str(line) for line in response.json().get("created", [])]
    return created


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message", ""))[:200]
    except ValueError:
        return response.text[:200]
