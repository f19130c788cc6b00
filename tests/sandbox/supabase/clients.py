"""Helpers to run the vendors' own clients against a served emulator."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .conftest import CLIENTS


@dataclass
class RequestLog:
    """ASGI wrapper recording (method, path, status) of every request, for assertions."""

    app: ASGIApp
    requests: list[tuple[str, str, int]] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.requests.append((scope["method"], scope["path"], message["status"]))
            await send(message)

        await self.app(scope, receive, record)


def require_client(name: str) -> Path:
    """The installed npm client binary, or skip when ``make test`` has not installed it."""
    binary = CLIENTS / ".bin" / name
    if not binary.exists() or shutil.which("node") is None:
        pytest.skip(f"npm client {name} is not installed under {CLIENTS}")
    return binary


def run_client(argv: list[str], *, cwd: Path, env: dict[str, str],
               timeout: float = 120) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DO_NOT_TRACK": "1"}
    return subprocess.run(argv, cwd=cwd, env={**base, **env}, capture_output=True, text=True,
                          timeout=timeout, check=False)
