"""engine.git: reading ``.out/<p>/`` at an earlier revision of a workspace that is a
subfolder of its git repository, and which revision an apply may record."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from converge.engine.git import (
    RevisionError,
    changed_since_head,
    clean_revision,
    find_folder_revision,
    head_commit,
    read_files_at,
    read_folder_at,
    resolve_commit,
)

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **GIT_ENV},
    )
    return done.stdout.strip()


@pytest.fixture
def rollback_repo(tmp_path: Path) -> Path:
    """A repository whose workspace is the subfolder ``ws``, with one commit of .out/p/."""
    _git(tmp_path, "init", "-q")
    out = tmp_path / "ws" / ".out" / "p"
    out.mkdir(parents=True)
    (out / "a.json").write_text("A1")
    (out / "b.yaml").write_text("B1")
    (out / "sub").mkdir()
    (out / "sub" / "nested.txt").write_text("not an artifact")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "first")
    return tmp_path / "ws"


def test_read_folder_at_returns_the_artifacts_of_that_revision_in_a_subfolder_workspace(
    rollback_repo: Path,
) -> None:
    first = _git(rollback_repo, "rev-parse", "HEAD")
    (rollback_repo / ".out" / "p" / "a.json").write_text("A2")
    (rollback_repo / ".out" / "p" / "c.json").write_text("C2")
    _git(rollback_repo, "add", "-A")
    _git(rollback_repo, "commit", "-qm", "second")

    assert read_folder_at(rollback_repo, first, ".out/p") == {"a.json": b"A1", "b.yaml": b"B1"}
    assert read_folder_at(rollback_repo, first, ".out/missing") == {}


def test_clean_revision_is_head_only_while_the_project_artifacts_are_committed(
    rollback_repo: Path,
) -> None:
    head = _git(rollback_repo, "rev-parse", "HEAD")
    assert clean_revision(rollback_repo, ".out/p") == head

    (rollback_repo / ".out" / "p" / "a.json").write_text("edited")
    assert clean_revision(rollback_repo, ".out/p") is None
    _git(rollback_repo, "checkout", "-q", "--", ".out/p/a.json")

    (rollback_repo / ".out" / "p" / "new.json").write_text("untracked")
    assert clean_revision(rollback_repo, ".out/p") is None
    (rollback_repo / ".out" / "p" / "new.json").unlink()

    (rollback_repo / ".out" / "other").mkdir()
    assert clean_revision(rollback_repo, ".out/other") is None  # never committed
    assert clean_revision(rollback_repo, ".out/p") == head


def test_outside_git_there_is_no_revision_and_reading_one_is_refused(tmp_path: Path) -> None:
    assert head_commit(tmp_path) is None
    assert clean_revision(tmp_path, ".out/p") is None
    assert resolve_commit(tmp_path, "HEAD") is None
    with pytest.raises(RevisionError, match="not in a git repository"):
        read_folder_at(tmp_path, "0" * 40, ".out/p")


def test_resolve_commit_knows_revisions_and_refuses_options(rollback_repo: Path) -> None:
    head = _git(rollback_repo, "rev-parse", "HEAD")
    assert resolve_commit(rollback_repo, "HEAD") == head
    assert resolve_commit(rollback_repo, head[:10]) == head
    assert resolve_commit(rollback_repo, "no-such-branch") is None
    assert resolve_commit(rollback_repo, "--all") is None


def test_find_folder_revision_names_the_ancestor_whose_folder_holds_exactly_these_files(
    rollback_repo: Path,
) -> None:
    first = _git(rollback_repo, "rev-parse", "HEAD")
    (rollback_repo / ".out" / "p" / "a.json").write_text("A2")
    _git(rollback_repo, "commit", "-qam", "second")
    second = _git(rollback_repo, "rev-parse", "HEAD")
    (rollback_repo / "unrelated.txt").write_text("x")
    _git(rollback_repo, "add", "-A")
    _git(rollback_repo, "commit", "-qm", "third: the folder unchanged")

    assert find_folder_revision(rollback_repo, ".out/p", {"a.json": b"A1", "b.yaml": b"B1"}) == (
        first
    )
    assert find_folder_revision(rollback_repo, ".out/p", {"a.json": b"A2", "b.yaml": b"B1"}) == (
        second
    )
    # A file more, a file less, other bytes: no revision holds exactly that.
    assert find_folder_revision(rollback_repo, ".out/p", {"a.json": b"A1"}) is None
    extra = {"a.json": b"A1", "b.yaml": b"B1", "c.json": b"C"}
    assert find_folder_revision(rollback_repo, ".out/p", extra) is None
    assert find_folder_revision(rollback_repo, ".out/p", {"a.json": b"A3", "b.yaml": b"B1"}) is None


def test_find_folder_revision_looks_only_at_ancestors_of_head(rollback_repo: Path) -> None:
    _git(rollback_repo, "checkout", "-qb", "elsewhere")
    (rollback_repo / ".out" / "p" / "a.json").write_text("from another branch")
    _git(rollback_repo, "commit", "-qam", "on a branch")
    _git(rollback_repo, "checkout", "-q", "-")

    files = {"a.json": b"from another branch", "b.yaml": b"B1"}
    assert find_folder_revision(rollback_repo, ".out/p", files) is None


def test_changed_since_head_and_clean_revision_see_the_inputs_too(rollback_repo: Path) -> None:
    (rollback_repo / "inputs.yaml").write_text("v: 1\n")
    _git(rollback_repo, "add", "-A")
    _git(rollback_repo, "commit", "-qm", "inputs")
    head = _git(rollback_repo, "rev-parse", "HEAD")
    assert not changed_since_head(rollback_repo, ".out/p")
    assert clean_revision(rollback_repo, ".out/p", ["inputs.yaml"]) == head

    (rollback_repo / "inputs.yaml").write_text("v: 2\n")
    assert clean_revision(rollback_repo, ".out/p", ["inputs.yaml"]) is None
    assert clean_revision(rollback_repo, ".out/p") == head

    _git(rollback_repo, "checkout", "-q", "HEAD~1", "--", ".out/p/")  # the same folder
    assert not changed_since_head(rollback_repo, ".out/p")
    (rollback_repo / ".out" / "p" / "a.json").write_text("restored from elsewhere")
    assert changed_since_head(rollback_repo, ".out/p")
    assert not changed_since_head(rollback_repo.parent / "outside-git", ".out/p")


def test_read_files_at_reads_workspace_paths_and_leaves_out_missing_ones(
    rollback_repo: Path,
) -> None:
    first = _git(rollback_repo, "rev-parse", "HEAD")
    (rollback_repo / ".out" / "p" / "a.json").write_text("A2")
    _git(rollback_repo, "commit", "-qam", "second")

    found = read_files_at(rollback_repo, first, [".out/p/a.json", ".out/p/sub", "no/such/file"])

    assert found == {".out/p/a.json": b"A1"}
