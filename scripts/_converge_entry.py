"""Shared start-up for the brief's reconcile scripts: find converge and the workspace.

The scripts are run as ``./scripts/reconcile-*.py`` with whatever ``python3`` is first on
PATH; when converge is not importable there, they re-run themselves with the
repository's ``.venv`` (created by ``make setup``). Inside this repository, with no
``converge.yaml`` above the current folder, the example workspace is used.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import NoReturn

REPO = Path(__file__).resolve().parent.parent


EXIT_USAGE = 64  # converge's usage-error code (2 means "changes" there)


class UsageParser(argparse.ArgumentParser):
    """argparse, with converge's exit code for a usage error (argparse's own is 2)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def ensure_converge() -> None:
    try:
        import converge  # noqa: F401
    except ImportError:
        venv = REPO / ".venv"
        venv_python = venv / "bin" / "python"
        # A venv's python is a symlink to the base interpreter, so compare prefixes.
        if venv_python.exists() and Path(sys.prefix).resolve() != venv.resolve():
            os.execv(str(venv_python), [str(venv_python), *sys.argv])
        sys.stderr.write("error: converge is not installed; run `make setup` first\n")
        sys.exit(1)


def default_workspace() -> None:
    if os.environ.get("CONVERGE_WORKSPACE"):
        return
    here = Path.cwd().resolve()
    if any((p / "converge.yaml").is_file() for p in (here, *here.parents)):
        return
    os.environ["CONVERGE_WORKSPACE"] = str(REPO / "examples" / "workspace")


def run(argv: list[str]) -> None:
    ensure_converge()
    default_workspace()
    from converge.cli.main import main

    main(argv)
