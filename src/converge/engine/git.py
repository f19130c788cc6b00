"""Git access: which revision the artifacts came from, what ``.out/<p>/`` and the inputs
held at an earlier revision, and which earlier revision a restored folder is.

Why git: the workspace's committed ``.out/`` and inputs are the history of what was
reviewed and applied (architecture §2), so an earlier revision's inputs, re-checked with
today's rules and re-rendered, are what a rollback re-applies (``engine.trust``). The
workspace may be a subfolder of the repository; paths are taken relative to the workspace
and mapped to the repository here. Only reading commands are run: nothing here changes
git state (``ops.apply`` commits, under its own lock).
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from converge.errors import ConvergeError

_TIMEOUT_S = 15
# How far back ``find_folder_revision`` looks: the commits of HEAD's history that changed
# the folder, newest first (a rollback restores a recent revision).
_HISTORY = 500


class RevisionError(ConvergeError):
    """A git revision cannot be read (unknown revision, not a git workspace)."""


def _git(
    root: Path, *args: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["git", "-C", str(root), *args],
            input=stdin,
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


def clean_revision(root: Path, relative_dir: str, also: Sequence[str] = ()) -> str | None:
    """``HEAD`` when ``relative_dir`` (workspace-relative, e.g. ``.out/journal``) and the
    paths ``also`` (the project's inputs and policies) have no uncommitted or untracked
    change, else None.

    An apply records a git revision only when that revision alone describes what was
    applied: with edited or new artifacts or inputs on disk, HEAD is not what the vendors
    received, and rolling back to it later would restore something else (or be refused,
    its inputs not rendering its artifacts).
    """
    head = head_commit(root)
    if head is None:
        return None
    paths = [relative_dir, *also]
    done = _git(root, "status", "--porcelain", "--untracked-files=all", "--", *paths)
    if done.returncode != 0 or done.stdout.strip():
        return None
    tracked = _git(root, "ls-files", "--", relative_dir)
    if tracked.returncode != 0 or not tracked.stdout.strip():
        return None  # never committed: HEAD does not hold these artifacts
    return head


def changed_since_head(root: Path, relative_dir: str) -> bool:
    """True when ``relative_dir`` differs from HEAD (edited, restored from another
    revision, or untracked files); False when it is as committed, or outside git."""
    if head_commit(root) is None:
        return False
    done = _git(root, "status", "--porcelain", "--untracked-files=all", "--", relative_dir)
    return done.returncode == 0 and bool(done.stdout.strip())


def read_folder_at(root: Path, commit: str, relative_dir: str) -> dict[str, bytes]:
    """The files directly in ``relative_dir`` (workspace-relative) as of ``commit``, by
    name. Empty when the folder did not exist then."""
    prefix = _repo_prefix(root)
    folder = f"{prefix}{relative_dir.strip('/')}"
    listing = _git(root, "ls-tree", "-z", "--full-tree", commit, "--", f"{folder}/")
    if listing.returncode != 0:
        raise RevisionError(f"cannot list {relative_dir} at revision {commit[:12]}")
    names: dict[str, str] = {}
    for raw in listing.stdout.split(b"\0"):
        if not raw:
            continue
        head, _, path_bytes = raw.partition(b"\t")
        _mode, kind, oid = head.decode("ascii").split(" ")
        path = path_bytes.decode("utf-8")
        name = path[len(folder) + 1 :]
        if kind != "blob" or not path.startswith(f"{folder}/") or "/" in name:
            continue  # a sub-folder (tree) or a submodule: not an artifact
        names[name] = oid
    blobs = _cat_blobs(root, list(names.values()))
    return {name: blobs[oid] for name, oid in names.items() if oid in blobs}


def read_files_at(root: Path, commit: str, relative_paths: Iterable[str]) -> dict[str, bytes]:
    """The bytes of each workspace-relative file as of ``commit``; a path that did not
    exist then (or is not a file) is left out."""
    prefix = _repo_prefix(root)
    wanted = sorted(set(relative_paths))
    found = _cat_batch(root, [f"{commit}:{prefix}{path}" for path in wanted])
    return {
        path: data for path, (kind, data) in zip(wanted, found, strict=True) if kind == "blob"
    }


def find_folder_revision(root: Path, relative_dir: str, files: Mapping[str, bytes]) -> str | None:
    """The newest commit of HEAD's history whose ``relative_dir`` holds exactly ``files``
    (same names, same bytes, no other file), or None.

    Only HEAD's ancestors are candidates (``git rev-list HEAD``: the history that was
    reviewed and merged, never another branch's commit). A handful of git processes
    whatever the history's length: the candidates' folder trees are read in one batch
    and compared by object id.
    """
    if not files or head_commit(root) is None:
        return None
    prefix = _repo_prefix(root)
    folder = f"{prefix}{relative_dir.strip('/')}"
    listed = _git(root, "rev-list", f"--max-count={_HISTORY}", "HEAD", "--", f":(top){folder}/")
    if listed.returncode != 0:
        return None
    commits = listed.stdout.decode("ascii").split()
    if not commits:
        return None
    wanted = _blob_ids(root, files)
    trees = _cat_check(root, [f"{commit}:{folder}" for commit in commits])
    width = len(next(iter(wanted.values()))) // 2
    seen: dict[str, bool] = {}
    tree_ids = {tree for kind, tree in trees if kind == "tree"}
    contents = dict(zip(sorted(tree_ids), _cat_trees(root, sorted(tree_ids)), strict=True))
    for commit, (kind, tree) in zip(commits, trees, strict=True):
        if kind != "tree":
            continue
        if tree not in seen:
            seen[tree] = _tree_blobs(contents[tree], width) == wanted
        if seen[tree]:
            return commit
    return None


# -- plumbing ---------------------------------------------------------------------------


def _object_format(root: Path) -> str:
    done = _git(root, "rev-parse", "--show-object-format")
    value = done.stdout.decode("ascii").strip() if done.returncode == 0 else ""
    return value if value in ("sha1", "sha256") else "sha1"


def _blob_ids(root: Path, files: Mapping[str, bytes]) -> dict[str, str]:
    """The object id git gives each file's bytes (as ``git hash-object --no-filters``)."""
    algorithm = _object_format(root)
    return {
        name: hashlib.new(algorithm, b"blob %d\0" % len(data) + data).hexdigest()
        for name, data in files.items()
    }


def _tree_blobs(tree: bytes, width: int) -> dict[str, str]:
    """A tree object's file entries: name -> object id (sub-trees left out; a symbolic
    link is marked so that it never equals a regular file)."""
    entries: dict[str, str] = {}
    position = 0
    while position < len(tree):
        space = tree.index(b" ", position)
        nul = tree.index(b"\0", space)
        mode = tree[position:space]
        name = tree[space + 1 : nul].decode("utf-8", errors="replace")
        oid = tree[nul + 1 : nul + 1 + width].hex()
        position = nul + 1 + width
        if mode.startswith(b"100"):
            entries[name] = oid
        elif mode == b"120000":
            entries[name] = "symlink:" + oid  # never equal to a regular file's id
    return entries


def _cat_file(root: Path, mode: str, names: Sequence[str]) -> bytes:
    """The output of ``git cat-file <mode>`` fed ``names``, one a line."""
    for name in names:
        if "\n" in name:
            raise RevisionError("a git object name cannot hold a newline")
    done = _git(root, "cat-file", mode, stdin="".join(f"{n}\n" for n in names).encode())
    if done.returncode != 0:
        raise RevisionError("git cat-file failed reading the repository")
    return done.stdout


def _cat_check(root: Path, names: Sequence[str]) -> list[tuple[str, str]]:
    """(type, object id) of each name; ("missing", "") for a name git does not know."""
    if not names:
        return []
    results: list[tuple[str, str]] = []
    for line in _cat_file(root, "--batch-check", names).decode("utf-8", "replace").splitlines():
        parts = line.split(" ")
        found = len(parts) == 3 and not line.endswith((" missing", " ambiguous"))
        results.append((parts[1], parts[0]) if found else ("missing", ""))
    return results


def _cat_batch(root: Path, names: Sequence[str]) -> list[tuple[str, bytes]]:
    """(type, content) of each name; ("missing", b"") for a name git does not know."""
    if not names:
        return []
    out = _cat_file(root, "--batch", names)
    results: list[tuple[str, bytes]] = []
    position = 0
    for _name in names:
        end = out.index(b"\n", position)
        line = out[position:end]
        header = line.split(b" ")
        position = end + 1
        if len(header) != 3 or line.endswith((b" missing", b" ambiguous")):
            results.append(("missing", b""))
            continue
        length = int(header[2])
        results.append((header[1].decode("ascii"), out[position : position + length]))
        position += length + 1
    return results


def _cat_blobs(root: Path, oids: Sequence[str]) -> dict[str, bytes]:
    found = _cat_batch(root, oids)
    return {oid: data for oid, (kind, data) in zip(oids, found, strict=True) if kind == "blob"}


def _cat_trees(root: Path, oids: Sequence[str]) -> list[bytes]:
    return [data for _kind, data in _cat_batch(root, oids)]
