"""Atomic file writes: a reader sees the old file or the whole new one, never a part.

Rendered artifacts and the decision (read by ``plan`` and by git while a render runs)
and the workspace's fingerprint key (read by parallel projects while it is created) are
written here. Each file is first written whole under a private temporary name in its own
folder (the same filesystem, so the final step is atomic), given its mode, then moved
into place:

- ``os.replace`` over the old file (the usual case);
- or, with ``replace=False``, ``os.link`` to a name that must not exist yet: of two
  processes creating the same file at once, one wins and both read the winner's.

Metrics textfiles go through ``prometheus_client.write_to_textfile``, which does the
same. The local sandbox keeps its own copy (it is becoming a package of its own).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

__all__ = ["write_atomic", "write_atomic_files"]


def _stage(folder: Path, name: str, data: bytes, *, mode: int, durable: bool) -> Path:
    """``data`` in a new temporary file of ``folder`` (removed again if writing fails)."""
    handle, staged = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            if durable:
                stream.flush()
                os.fsync(stream.fileno())
        os.chmod(staged, mode)
    except BaseException:
        Path(staged).unlink(missing_ok=True)
        raise
    return Path(staged)


def _bytes(data: bytes | str) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else data


def write_atomic(
    path: Path,
    data: bytes | str,
    *,
    mode: int = 0o644,
    replace: bool = True,
    durable: bool = False,
) -> bool:
    """Write ``data`` (text as UTF-8, as given: no newline translation) to ``path``.

    ``replace=False`` creates ``path`` only if it does not exist yet and returns False
    when another writer got there first (its file is kept). ``durable`` fsyncs the data
    before the move, for files that must survive a power cut whole. The folder must
    exist. Raises OSError.
    """
    staged = _stage(path.parent, path.name, _bytes(data), mode=mode, durable=durable)
    if replace:
        try:
            os.replace(staged, path)
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
        return True
    try:
        with contextlib.suppress(FileExistsError):
            os.link(staged, path)
            return True
        return False
    finally:
        staged.unlink()


def write_atomic_files(
    folder: Path, files: Mapping[str, bytes | str], *, mode: int = 0o644
) -> None:
    """Write several files of ``folder`` (created if missing): every file is staged
    before the first is moved into place, so a failure while writing (a full disk)
    leaves the folder as it was."""
    folder.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[str, Path]] = []
    try:
        for name, data in sorted(files.items()):
            staged.append((name, _stage(folder, name, _bytes(data), mode=mode, durable=False)))
    except BaseException:
        for _, path in staged:
            path.unlink(missing_ok=True)
        raise
    for name, path in staged:
        os.replace(path, folder / name)
