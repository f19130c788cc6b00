"""``converge --version`` says the installed distribution's version; shell completion is
click's (``_CONVERGE_COMPLETE=bash_source converge``), as the README documents."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
from collections.abc import Callable

import pytest

from tests.conftest import REPO, CliResult

CONVERGE = REPO / ".venv" / "bin" / "converge"
needs_entry_point = pytest.mark.skipif(
    not CONVERGE.exists(), reason="the virtualenv's converge is missing: run make setup"
)


def test_version_is_the_package_metadata_version(run_cli: Callable[..., CliResult]) -> None:
    result = run_cli("--version")

    assert result.exit_code == 0
    assert result.stdout == f"converge, version {importlib.metadata.version('converge')}\n"


def complete(variable: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CONVERGE)], env={**os.environ, "_CONVERGE_COMPLETE": variable, **env},
        capture_output=True, text=True, timeout=60, check=False,
    )


@needs_entry_point
@pytest.mark.parametrize(
    ("shell", "registration"),
    [
        ("bash", "complete -o nosort -F _converge_completion converge"),
        ("zsh", "compdef _converge_completion converge"),
        ("fish", "complete --no-files --command converge"),
    ],
)
def test_completion_scripts_for_each_shell(shell: str, registration: str) -> None:
    done = complete(f"{shell}_source")

    assert done.returncode == 0, done.stderr
    assert registration in done.stdout


@needs_entry_point
def test_bash_completion_offers_the_commands() -> None:
    done = complete("bash_complete", COMP_WORDS="converge in", COMP_CWORD="1")

    assert done.returncode == 0, done.stderr
    assert "plain,init" in done.stdout.splitlines()
