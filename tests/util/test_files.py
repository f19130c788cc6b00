"""The one atomic-write helper: whole files or none, modes set, create-once semantics."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from converge.util.files import write_atomic, write_atomic_files


def test_write_atomic_replaces_the_file_with_the_mode_given_and_leaves_no_temporary(
    tmp_path: Path,
) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old\n")
    assert write_atomic(target, "new\n", mode=0o640) is True
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_create_once_keeps_the_first_writers_file(tmp_path: Path) -> None:
    target = tmp_path / "key"
    assert write_atomic(target, b"first", mode=0o600, replace=False) is True
    assert write_atomic(target, b"second", mode=0o600, replace=False) is False
    assert target.read_bytes() == b"first"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["key"]


def test_text_is_written_as_given_without_newline_translation(tmp_path: Path) -> None:
    write_atomic(tmp_path / "a", "x\ny\n", durable=True)
    assert (tmp_path / "a").read_bytes() == b"x\ny\n"


def test_a_failed_multi_file_write_changes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    write_atomic_files(folder, {"a.json": "1", "b.json": "2"})

    class Unwritable(str):
        def encode(self, *args: object, **kwargs: object) -> bytes:
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        write_atomic_files(folder, {"a.json": "changed", "b.json": Unwritable("3")})
    assert {p.name: p.read_text() for p in folder.iterdir()} == {"a.json": "1", "b.json": "2"}
