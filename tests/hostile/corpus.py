"""The hostile-input corpus: workspace edits a pull request could make, each with the one
line converge must answer with. See README.md in this folder for how to add a case.

A case is data: a few edits applied to a fresh copy of ``examples/workspace`` (beside it
sits ``outside/``, a folder the workspace must never touch), the command to run, its exit
code, and where the error must point (``file:line:col`` or a file) with a phrase that must
appear on the same output line.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

OUTSIDE = "{outside}"  # replaced by the absolute path of the outside folder


@dataclass(frozen=True)
class Replace:
    """Replace the first ``old`` in ``path`` by ``new`` (``old`` must be there)."""

    path: str
    old: str
    new: str


@dataclass(frozen=True)
class Append:
    path: str
    text: str


@dataclass(frozen=True)
class Write:
    """Create or overwrite ``path`` with ``text`` (``bytes`` for byte-exact content)."""

    path: str
    text: str | bytes


@dataclass(frozen=True)
class Remove:
    """Delete a file or a folder."""

    path: str


@dataclass(frozen=True)
class Symlink:
    """Make ``path`` a symlink to ``target`` (relative to the link's folder, or absolute
    through ``{outside}``); whatever was at ``path`` is removed first."""

    path: str
    target: str


Edit = Replace | Append | Write | Remove | Symlink


@dataclass(frozen=True)
class HostileCase:
    name: str
    item: str  # where it comes from, e.g. "issue 8.1"
    edits: tuple[Edit, ...]
    where: str  # the location the error line must name
    says: str  # a phrase on that same line
    command: tuple[str, ...] = ("validate", "journal")
    exit_code: int = 1
    settings: tuple[tuple[str, str], ...] = ()  # extra converge.yaml lines (key, value)


def prepare_outside(root: Path) -> None:
    """The folder next to the workspace that no command may create, change or delete in."""
    (root / "journal").mkdir(parents=True, exist_ok=True)
    (root / "journal" / "keep.txt").write_text("unrelated file\n")
    (root / "x.log").write_text("not an audit log\n")
    (root / "evil.rego").write_text(
        "package evil\n\nimport rego.v1\n\ndeny contains msg if {\n  msg := \"read\"\n}\n"
    )


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every path under ``root`` with its bytes (or its link target)."""
    found: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[rel] = "->" + os.readlink(path)
        elif path.is_file():
            found[rel] = path.read_bytes()
        else:
            found[rel] = "dir"
    return found


def apply_case(case: HostileCase, workspace: Path, outside: Path) -> None:
    def fill(text: str) -> str:
        return text.replace(OUTSIDE, str(outside))

    for key, value in case.settings:
        settings = workspace / "converge.yaml"
        settings.write_text(settings.read_text() + f"{key}: {fill(value)}\n")
    for edit in case.edits:
        path = workspace / edit.path
        if isinstance(edit, Replace):
            text = path.read_text(encoding="utf-8")
            assert edit.old in text, f"{case.name}: {edit.old!r} not in {edit.path}"
            path.write_text(text.replace(edit.old, fill(edit.new), 1), encoding="utf-8")
        elif isinstance(edit, Append):
            path.write_text(path.read_text(encoding="utf-8") + fill(edit.text), encoding="utf-8")
        elif isinstance(edit, Write):
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(edit.text, bytes):
                path.write_bytes(edit.text)
            else:
                path.write_text(fill(edit.text), encoding="utf-8")
        elif isinstance(edit, Remove):
            _remove(path)
        else:
            _remove(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(fill(edit.target), path)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
