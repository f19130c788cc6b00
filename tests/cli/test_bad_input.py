"""Bad input: one clear line naming file and line, exit 1, no traceback, nothing under .out/."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult

ALIAS_BOMB = (
    "\n".join(
        ["a: &a [x, x, x, x, x, x, x, x, x]"]
        + [
            f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]"
            for i in range(7)
        ]
    )
    + "\n"
)


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"fixture text {old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def _tabs(ws: Path) -> str:
    _replace(
        ws / "projects/journal/identities.yaml", "    environment: prod", "\tenvironment: prod"
    )
    return "projects/journal/identities.yaml:3:1"


def _malformed(ws: Path) -> str:
    _replace(ws / "projects/journal/project.yaml", "owners: [platform@acme.example]", "owners: [x")
    return "projects/journal/project.yaml:4:"


def _duplicate(ws: Path) -> str:
    path = ws / "projects/journal/project.yaml"
    path.write_text(path.read_text() + "owners: [other@acme.example]\n")
    return "projects/journal/project.yaml:13:1"


def _wrong_type(ws: Path) -> str:
    _replace(ws / "data/platforms/supabase/journal.yaml", "jwt_exp: 3600", "jwt_exp: soon")
    return "data/platforms/supabase/journal.yaml:2:3"


def _unknown_key(ws: Path) -> str:
    _replace(
        ws / "data/infisical/journal/roles.yaml",
        "    environment: prod\n    description: Read the journal",
        "    enviroment: prod\n    description: Read the journal",
    )
    return "data/infisical/journal/roles.yaml:3:5"


def _missing_file(ws: Path) -> str:
    (ws / "data/infisical/journal/roles.yaml").unlink()
    return "data/infisical/journal/roles.yaml"


def _no_project_yaml(ws: Path) -> str:
    (ws / "projects/journal/project.yaml").unlink()
    return "projects/journal/project.yaml"


def _alias_bomb(ws: Path) -> str:
    path = ws / "projects/journal/project.yaml"
    path.write_text(
        path.read_text()
        + "x-bomb:\n"
        + "".join("  " + line + "\n" for line in ALIAS_BOMB.splitlines())
    )
    return "projects/journal/project.yaml:"


def _huge(ws: Path) -> str:
    path = ws / "projects/journal/project.yaml"
    path.write_text(path.read_text() + "# " + "x" * (1024 * 1024) + "\n")
    return "projects/journal/project.yaml"


def _non_utf8(ws: Path) -> str:
    path = ws / "projects/journal/identities.yaml"
    path.write_bytes(path.read_bytes().replace(b"Issues session", b"Issues \xff\xfe session"))
    return "projects/journal/identities.yaml:4:"


def _symlink_outside(ws: Path) -> str:
    outside = ws.parent / "outside.yaml"
    outside.write_text((ws / "projects/journal/identities.yaml").read_text())
    (ws / "projects/journal/identities.yaml").unlink()
    os.symlink(outside, ws / "projects/journal/identities.yaml")
    return "projects/journal/identities.yaml"


CASES: dict[str, tuple[Callable[[Path], str], str]] = {
    "tabs": (_tabs, "tab character"),
    "malformed": (_malformed, "malformed YAML"),
    "duplicate": (_duplicate, "duplicate key 'owners'"),
    "wrong-type": (_wrong_type, "jwt_exp"),
    "unknown-key": (_unknown_key, "unknown key 'enviroment' (did you mean 'environment'?)"),
    "missing-file": (_missing_file, "required file is missing"),
    "no-project-yaml": (_no_project_yaml, "required file is missing"),
    "alias-bomb": (_alias_bomb, "alias bomb"),
    "huge-file": (_huge, "limit is 1048576"),
    "non-utf8": (_non_utf8, "not valid UTF-8"),
    "symlink-outside": (_symlink_outside, "symlink leads outside the workspace"),
}


@pytest.mark.parametrize("command", ["validate", "decide", "render"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_located_line_and_writes_nothing(
    case: str, command: str, workspace: Path, run_cli: Callable[..., CliResult]
) -> None:
    """Each kind of bad input gives exit 1, the file and line, no traceback, no .out/."""
    breaker, phrase = CASES[case]
    where = breaker(workspace)
    result = run_cli("--workspace", str(workspace), command, "journal")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if where in line]
    assert lines, f"no line names {where}: {result.output}"
    assert any(phrase in line for line in lines), result.output
    assert not (workspace / ".out").exists()


@pytest.mark.parametrize("name", ["../journal", "jour/nal", "my project", "Journal", "..", "a b"])
def test_bad_project_names_are_refused(
    name: str, workspace: Path, run_cli: Callable[..., CliResult]
) -> None:
    """Project names that could escape the workspace or break paths are refused up front."""
    for command in ("validate", "decide", "render"):
        result = run_cli("--workspace", str(workspace), command, name)
        assert result.exit_code == 1
        assert "invalid project name" in result.output
        assert "Traceback" not in result.output
    assert not (workspace / ".out").exists()


def test_unknown_project_suggests_the_closest(
    workspace: Path, run_cli: Callable[..., CliResult]
) -> None:
    result = run_cli("--workspace", str(workspace), "validate", "jounral")
    assert result.exit_code == 1
    assert "unknown project 'jounral'" in result.output
    assert "journal" in result.output


def test_validation_collects_every_problem(
    workspace: Path, run_cli: Callable[..., CliResult]
) -> None:
    """Two broken files give two located lines in one run."""
    _unknown_key(workspace)
    _wrong_type(workspace)
    result = run_cli("--workspace", str(workspace), "validate", "journal")
    assert result.exit_code == 1
    assert "data/infisical/journal/roles.yaml:3:5" in result.output
    assert "data/platforms/supabase/journal.yaml:2:3" in result.output
