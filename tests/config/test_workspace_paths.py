"""Every path in converge.yaml stays inside the workspace (issue 8 items 1 and 8a/8b).

``out: ../vroot`` once let ``render journal`` delete unrelated files in
``../vroot/journal/``; ``audit_log: ../x.log`` appended outside; ``policies: no-such-dir``
silently dropped every user policy. Now opening the workspace refuses such a setting at
its line in converge.yaml, so every command refuses it before doing anything.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from converge.config.workspace import open_workspace
from converge.errors import ConfigError, ConfigErrors
from tests.conftest import CliResult


def _set(workspace: Path, key: str, value: str) -> None:
    path = workspace / "converge.yaml"
    lines = [line for line in path.read_text().splitlines() if not line.startswith(f"{key}:")]
    path.write_text("\n".join([*lines, f"{key}: {value}"]) + "\n")


def _refusal(workspace: Path) -> list[str]:
    with pytest.raises(ConfigErrors) as caught:
        open_workspace(workspace)
    return [e.render() for e in caught.value.errors]


def test_render_never_deletes_files_outside_the_workspace(
    workspace: Path, run_cli: Callable[..., CliResult]
) -> None:
    """The reported reproduction: out: ../vroot, then decide and render journal."""
    unrelated = workspace.parent / "vroot" / "journal" / "unrelated.txt"
    unrelated.parent.mkdir(parents=True)
    unrelated.write_text("not converge's\n")
    _set(workspace, "out", "../vroot")
    for command in ("decide", "render"):
        result = run_cli("--workspace", str(workspace), command, "journal")
        assert result.exit_code == 1, result.output
        assert "converge.yaml:" in result.output and "outside the workspace" in result.output
    assert unrelated.read_text() == "not converge's\n"
    assert sorted(p.name for p in unrelated.parent.iterdir()) == ["unrelated.txt"]


@pytest.mark.parametrize("key", ["out", "audit_log", "state", "policies"])
@pytest.mark.parametrize("value", ["../elsewhere", "{parent}/elsewhere", "a/../../elsewhere"])
def test_a_path_leaving_the_workspace_is_refused_at_its_line(
    workspace: Path, key: str, value: str
) -> None:
    _set(workspace, key, value.format(parent=workspace.parent))
    lines = _refusal(workspace)
    assert len(lines) == 1
    assert lines[0].startswith("converge.yaml:6:1: ")  # _set writes the key on line 6
    assert f"{key}: " in lines[0] and "outside the workspace" in lines[0]


def test_a_symlink_leading_outside_is_refused(workspace: Path) -> None:
    outside = workspace.parent / "outside"
    outside.mkdir()
    os.symlink("../outside/x.log", workspace / "reconciliation.log")
    lines = _refusal(workspace)
    assert lines == [
        "converge.yaml:6:1: audit_log: 'reconciliation.log' leads outside the workspace "
        "(through '..', an absolute path or a symlink)"
    ]


def test_paths_inside_are_kept_in_one_relative_form(workspace: Path) -> None:
    _set(workspace, "out", f"{workspace}/build/./out")
    _set(workspace, "audit_log", "logs/../audit.log")
    settings = open_workspace(workspace).settings
    assert (settings.out, settings.audit_log) == ("build/out", "audit.log")


def test_a_postgres_state_url_is_not_a_path(workspace: Path) -> None:
    _set(workspace, "state", "postgresql://converge@db.acme.example/converge")
    assert open_workspace(workspace).settings.state.startswith("postgresql://")


@pytest.mark.parametrize(("key", "value"), [
    ("out", "."), ("out", "data/infisical"), ("out", "projects"), ("out", "policies/out"),
    ("audit_log", "projects/journal/project.yaml"), ("state", ".git/state.db"),
])
def test_written_paths_may_not_land_on_inputs(workspace: Path, key: str, value: str) -> None:
    _set(workspace, key, value)
    lines = _refusal(workspace)
    assert len(lines) == 1 and lines[0].startswith(f"converge.yaml:6:1: {key}: "), lines


def test_a_configured_policies_folder_must_exist(workspace: Path) -> None:
    """policies: no-such-dir used to skip every user policy (a deny became an allow)."""
    _set(workspace, "policies", "no-such-dir")
    assert _refusal(workspace) == [
        "converge.yaml:6:1: policies: folder 'no-such-dir' does not exist, so no user "
        "policy would run"
    ]
    _set(workspace, "policies", "converge.yaml")
    assert _refusal(workspace) == ["converge.yaml:6:1: policies: 'converge.yaml' is not a folder"]


def test_the_default_policies_folder_is_optional(workspace: Path) -> None:
    _set(workspace, "policies", "policies")
    text = (workspace / "converge.yaml").read_text()
    (workspace / "converge.yaml").write_text(text.replace("policies: policies\n", ""))
    for path in (workspace / "policies").iterdir():
        path.unlink()
    (workspace / "policies").rmdir()
    assert open_workspace(workspace).policy_files() == []


def test_a_policy_file_linked_from_outside_is_refused(workspace: Path) -> None:
    outside = workspace.parent / "evil.rego"
    outside.write_text("package evil\n")
    os.symlink("../../evil.rego", workspace / "policies" / "evil.rego")
    with pytest.raises(ConfigError) as caught:
        open_workspace(workspace).policy_files()
    assert caught.value.render() == "policies/evil.rego: symlink leads outside the workspace"


def test_an_out_folder_linked_from_outside_is_refused(workspace: Path) -> None:
    (workspace.parent / "elsewhere").mkdir()
    (workspace / ".out").mkdir()
    os.symlink("../../elsewhere", workspace / ".out" / "journal")
    with pytest.raises(ConfigError) as caught:
        open_workspace(workspace).out_dir("journal")
    assert caught.value.render() == ".out/journal: symlink leads outside the workspace"


def test_the_state_folder_may_not_lead_outside_even_with_a_postgres_state(
    workspace: Path,
) -> None:
    """.converge holds locks and the fingerprint key whatever ``state`` says."""
    _set(workspace, "state", "postgresql://converge@db.acme.example/converge")
    (workspace.parent / "elsewhere").mkdir()
    os.symlink("../elsewhere", workspace / ".converge")
    assert _refusal(workspace) == [".converge: symlink leads outside the workspace"]
