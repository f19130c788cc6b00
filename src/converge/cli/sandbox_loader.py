"""The sandbox, imported only when a command needs it.

The emulators are their own package (``converge_sandbox``), installed with the extra
``converge[sandbox]``, so a live install carries neither starlette, uvicorn nor PostgreSQL
binaries. The product never imports that package statically (``.importlinter`` keeps it
so): ``converge sandbox …`` and ``target: sandbox`` call ``load_sandbox()``, which imports
``converge_sandbox.facade`` by name and turns its absence into ``SandboxNotInstalled``
(one sentence, exit 1). ``SandboxApi`` is the part of the sandbox the CLI relies on; the
facade declares that it satisfies it, so mypy checks both sides.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, cast

from converge.errors import SandboxNotInstalled

SANDBOX_MODULE = "converge_sandbox.facade"
# The sandbox's own variables, named here too so `converge sandbox serve --help` needs no
# sandbox (tests/packaging/test_without_sandbox.py checks they match the runner's).
FAULTS_ENV = "CONVERGE_SANDBOX_FAULTS"
RATE_LIMITS_ENV = "CONVERGE_SANDBOX_RATE_LIMITS"


class ServedView(Protocol):
    """The three HTTP servers of a running sandbox."""

    @property
    def alive(self) -> bool: ...


class RunningSandboxView(Protocol):
    """A sandbox started in this process (``converge_sandbox.runner.RunningSandbox``)."""

    @property
    def env(self) -> dict[str, str]: ...

    @property
    def servers(self) -> ServedView: ...

    @property
    def created(self) -> dict[str, list[str]]: ...

    def wait_seeded(self, timeout: float = ...) -> None: ...

    def record_database_pid(self) -> int | None: ...

    def stop(self) -> None: ...

    def __enter__(self) -> RunningSandboxView: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class SandboxApi(Protocol):
    """What the CLI calls on ``converge_sandbox.facade``.

    ``workspace`` (``start_sandbox``, ``ensure_projects``) is the plain data of
    ``converge.cli.sandbox_names``: the vendor-side projects a workspace names, which the
    sandbox creates where missing (``converge_sandbox.wanted`` documents the shape)."""

    def find_workspace(self, start: Path | None = ...) -> Path: ...

    def state_dir_for(self, workspace: Path) -> Path: ...

    def read_running(self, state_dir: Path) -> object | None: ...

    def running_env(self, state_dir: Path) -> dict[str, str]: ...

    def reset_state(self, state_dir: Path) -> list[Path]: ...

    def start_sandbox(
        self,
        state_dir: Path,
        *,
        faults: str | None = ...,
        rate_limits: str | None = ...,
        port_base: int | None = ...,
        workspace: Mapping[str, Any] | None = ...,
    ) -> RunningSandboxView: ...

    def ensure_projects(
        self, state_dir: Path, workspace: Mapping[str, Any]
    ) -> dict[str, list[str]]: ...


def load_sandbox() -> SandboxApi:
    """``converge_sandbox.facade``; SandboxNotInstalled when it or a dependency is absent.

    A missing module *inside* an installed ``converge_sandbox`` is a bug, not a missing
    extra, and propagates as it is."""
    try:
        module = importlib.import_module(SANDBOX_MODULE)
    except ModuleNotFoundError as error:
        missing = error.name or SANDBOX_MODULE
        if missing.startswith("converge_sandbox."):
            raise
        raise SandboxNotInstalled(missing) from None
    return cast(SandboxApi, module)
