"""Git access for rollback: which revision the artifacts came from, and what ``.out/<p>/``
held at an earlier revision.

Why git: the workspace's committed ``.out/`` is the history of what was reviewed and
applied (DESIGN §2), so an earlier revision's artifacts, with their decision and manifest,
are the exact input a rollback re-applies. The workspace may be a subfolder of the
repository; paths are taken relative to the workspace and mapped to the repository here.
Only ``git`` plumbing commands are run, and only to read: nothing here changes git state.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from converge.errors import ConvergeError

_TIMEOUT_S = 15


class RevisionError(ConvergeError):
    """A git revision cannot be read (unknown revision, not a git workspace)."""


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            check=False,
            timeout=_TIMEOUT_S,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise RevisionError(
            f"cannot run git in {root} ({type(exc).__name__})",
            hint="install git; rollback reads earlier artifacts from the repository",
        ) from None


def _repo_prefix(root: Path) -> str:
    """The workspace's folder inside its repository (``""`` at the top, else ``sub/``)."""
    done = _git(root, "rev-parse", "--show-prefix")
    if done.returncode != 0:
        raise RevisionError(
            f"the workspace {root} is not in a git repository",
            hint="commit .out/ to git; rollback re-applies committed artifacts",
        )
    return done.stdout.decode("utf-8").strip()


def resolve_commit(root: Path, revision: str) -> str | None:
    """The full commit id ``revision`` names, or None when git does not know it."""
    if not revision or revision.startswith("-"):
        return None
    done = _git(root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    if done.returncode != 0:
        return None
    return done.stdout.decode("ascii").strip() or None


def head_commit(root: Path) -> str | None:
    """``HEAD`` of the workspace's repository, or None outside git / before a commit."""
    try:
        _repo_prefix(root)
    except RevisionError:
        return None
    return resolve_commit(root, "HEAD")


def clean_revision(root: Path, relative_dir: str) -> str | None:
    """``HEAD`` when ``relative_dir`` (workspace-relative, e.g. ``.out/journal``) has no
    uncommitted or untracked change, else None.

    An apply records a git revision only when that revision alone describes what was
    applied: with edited or new artifacts on disk, HEAD is not what the vendors received,
    and rolling back to it later would restore something else.
    """
    head = head_commit(root)
    if head is None:
        return None
    done = _git(root, "status", "--porcelain", "--untracked-files=all", "--", relative_dir)
    if done.returncode != 0 or done.stdout.strip():
        return None
    tracked = _git(root, "ls-files", "--", relative_dir)
    if tracked.returncode != 0 or not tracked.stdout.strip():
        return None  # never committed: HEAD does not hold these artifacts
    return head


def read_folder_at(root: Path, commit: str, relative_dir: str) -> dict[str, bytes]:
    """The files directly in ``relative_dir`` (workspace-relative) as of ``commit``, by
    name. Empty when the folder did not exist then."""
    prefix = _repo_prefix(root)
    folder = f"{prefix}{relative_dir.strip('/')}"
    listing = _git(root, "ls-tree", "-z", "--full-tree", "--name-only", commit, "--", f"{folder}/")
    if listing.returncode != 0:
        raise RevisionError(f"cannot list {relative_dir} at revision {commit[:12]}")
    files: dict[str, bytes] = {}
    for raw in listing.stdout.split(b"\0"):
        path = raw.decode("utf-8")
        if not path:
            continue
        name = path[len(folder) + 1 :]
        if not path.startswith(f"{folder}/") or "/" in name:
            continue
        blob = _git(root, "cat-file", "blob", f"{commit}:{path}")
        if blob.returncode != 0:
            continue  # a sub-folder (tree) or a submodule: not an artifact
        files[name] = blob.stdout
    return files
