"""Write a new workspace: settings, one sample project, .gitignore, Makefile, CI workflow.

The sample project ``web`` is shaped like the example ``journal`` (a role, a machine
identity bound to it, Vercel variables, Supabase settings) and passes every built-in
policy and the sample Rego policy as written, so ``validate``, ``decide`` and ``render``
succeed right away; its vendor names are placeholders the team replaces with its own.

A folder that holds anything but ``.git`` is refused, and no existing file is replaced,
unless ``force``: ``converge init`` in the wrong folder must not clobber a repository.
"""

from __future__ import annotations

import importlib.metadata
import json
import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from converge.errors import ConvergeError
from converge.util.files import write_atomic

SAMPLE_PROJECT = "web"
WORKFLOW_FILE = ".github/workflows/converge.yml"
PIP_SPEC_VARIABLE = "CONVERGE_PIP_SPEC"
# The repository secrets the workflow reads (INFISICAL_TOKEN may replace the client pair).
WORKFLOW_SECRETS = (
    "INFISICAL_CLIENT_ID",
    "INFISICAL_CLIENT_SECRET",
    "INFISICAL_TOKEN",
    "VERCEL_TOKEN",
    "SUPABASE_ACCESS_TOKEN",
    "CONVERGE_FINGERPRINT_KEY",
)

# template (package data) -> where it goes in the workspace
_FILES: tuple[tuple[str, str], ...] = (
    ("converge.yaml", "converge.yaml"),
    ("project.yaml", f"projects/{SAMPLE_PROJECT}/project.yaml"),
    ("identities.yaml", f"projects/{SAMPLE_PROJECT}/identities.yaml"),
    ("roles.yaml", f"data/infisical/{SAMPLE_PROJECT}/roles.yaml"),
    ("vercel.yaml", f"data/platforms/vercel/{SAMPLE_PROJECT}.yaml"),
    ("supabase.yaml", f"data/platforms/supabase/{SAMPLE_PROJECT}.yaml"),
    ("owners.rego", "policies/owners.rego"),
    ("gitignore", ".gitignore"),
    ("Makefile", "Makefile"),
    ("converge.yml", WORKFLOW_FILE),
)

Action = Literal["created", "overwrote", "unchanged"]


class _Template(string.Template):
    """``@@{name}`` placeholders: ``$`` belongs to make, bash and GitHub expressions."""

    delimiter = "@@"


@dataclass(frozen=True)
class WrittenFile:
    path: str  # relative to the workspace, with forward slashes
    action: Action


@dataclass(frozen=True)
class InitResult:
    root: Path
    files: list[WrittenFile]
    pip_spec: str
    in_git: bool  # the folder already belongs to a git repository


PLACEHOLDER_SOURCE = "https://github.com/YOUR-ORG/converge"


def default_pip_spec() -> str:
    """What CI installs: this converge's exact source when it came from a git URL (PEP 610
    ``direct_url.json``), else a git URL to fill in, at this version's tag.

    Never a bare ``converge==…``: the name ``converge`` on PyPI belongs to another project,
    so a bare name would install a stranger's code in CI (dependency confusion)."""
    try:
        dist = importlib.metadata.distribution("converge")
    except importlib.metadata.PackageNotFoundError:
        return f"converge @ git+{PLACEHOLDER_SOURCE}@main"
    version = dist.version
    try:
        direct = json.loads(dist.read_text("direct_url.json") or "{}")
    except ValueError:
        direct = {}
    vcs = direct.get("vcs_info") if isinstance(direct, dict) else None
    if isinstance(vcs, dict) and vcs.get("vcs") == "git" and vcs.get("commit_id"):
        return f"converge @ git+{direct['url']}@{vcs['commit_id']}"
    return f"converge @ git+{PLACEHOLDER_SOURCE}@v{version}"


def render_files(pip_spec: str) -> dict[str, str]:
    """Workspace-relative path -> content of every file ``init`` writes."""
    if not pip_spec.strip() or any(c in pip_spec for c in "\r\n"):
        raise ConvergeError(
            f"the pip spec {pip_spec!r} is empty or spans lines",
            hint="give one requirement, e.g. converge==0.1.0 or "
            "'converge @ git+https://github.com/ORG/converge@v0.1.0'",
        )
    # A JSON string is a YAML double-quoted scalar: any spec stays one safe value.
    values = {"pip_spec": json.dumps(pip_spec.strip())}
    folder = resources.files("converge.scaffold") / "templates"
    files: dict[str, str] = {}
    for template, destination in _FILES:
        text = (folder / template).read_text(encoding="utf-8")
        files[destination] = _Template(text).substitute(values)
    return files


def _occupants(root: Path) -> list[str]:
    """What is already in ``root``, apart from a ``.git`` (``git init`` first is fine)."""
    if not root.exists():
        return []
    return sorted(p.name for p in root.iterdir() if p.name != ".git")


def _in_git(root: Path) -> bool:
    return any((p / ".git").exists() for p in (root, *root.parents))


def init_workspace(
    directory: Path, *, force: bool = False, pip_spec: str | None = None
) -> InitResult:
    """Write a new workspace into ``directory`` (created when missing).

    Refuses a folder holding anything but ``.git`` unless ``force``; with ``force`` a file
    that exists is replaced (and reported so) when its content differs."""
    spec = pip_spec if pip_spec is not None else default_pip_spec()
    files = render_files(spec)
    if directory.exists() and not directory.is_dir():
        raise ConvergeError(f"{directory} exists and is not a folder")
    occupants = _occupants(directory)
    if occupants and not force:
        shown = ", ".join(occupants[:5]) + (", …" if len(occupants) > 5 else "")
        raise ConvergeError(
            f"{directory} is not empty (it holds {shown}); converge init writes a new "
            "workspace into an empty folder",
            hint="pass --force to write into it anyway (files with the same names are "
            "replaced)",
        )
    directory.mkdir(parents=True, exist_ok=True)
    root = directory.resolve()
    written: list[WrittenFile] = []
    for relative, content in files.items():
        written.append(WrittenFile(relative, _write(root, relative, content, force=force)))
    return InitResult(root=root, files=written, pip_spec=spec.strip(), in_git=_in_git(root))


def _write(root: Path, relative: str, content: str, *, force: bool) -> Action:
    path = root / relative
    # A link already in the folder (with --force) must not carry a write outside it.
    if not path.parent.resolve().is_relative_to(root) or (
        path.is_symlink() and not path.resolve().is_relative_to(root)
    ):
        raise ConvergeError(f"{relative} leads outside {root}; converge init writes only inside")
    try:
        if path.is_file() and not path.is_symlink():
            if path.read_text(encoding="utf-8", errors="replace") == content:
                return "unchanged"
            if not force:
                raise ConvergeError(
                    f"{relative} already exists", hint="pass --force to replace it"
                )
            write_atomic(path, content)
            return "overwrote"
        if path.exists() or path.is_symlink():
            if not force:
                raise ConvergeError(f"{relative} already exists", hint="pass --force to replace it")
            if path.is_dir() and not path.is_symlink():
                raise ConvergeError(f"{relative} is a folder; converge init needs a file there")
            path.unlink()
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, content)
            return "overwrote"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not write_atomic(path, content, replace=False):
            raise ConvergeError(f"{relative} appeared while converge init was writing it")
        return "created"
    except OSError as exc:
        raise ConvergeError(f"cannot write {relative}: {exc.strerror or exc}") from None


def next_steps(result: InitResult, shown_dir: str) -> list[str]:
    """What a team does after ``converge init``, one command or action per line."""
    steps: list[str] = []
    if shown_dir not in ("", "."):
        steps.append(f"cd {shown_dir}")
    if not result.in_git:
        steps.append("git init -b main")
    steps += [
        f"edit projects/{SAMPLE_PROJECT}/project.yaml: your Infisical organization and "
        "project, Vercel team and project, Supabase project ref",
        "converge validate --all && converge decide --all && converge render --all",
        "git add -A && git commit -m 'converge workspace'   (.out/ included: pull "
        "requests check it is current)",
        "on GitHub, add the repository secrets " + ", ".join(WORKFLOW_SECRETS[:2])
        + " (or INFISICAL_TOKEN), " + ", ".join(WORKFLOW_SECRETS[3:])
        + "; a fingerprint key: python3 -c 'import secrets; print(secrets.token_hex(32))'",
        (f"set {PIP_SPEC_VARIABLE} in {WORKFLOW_FILE} to where your team installs converge "
         f"from (now: {result.pip_spec})" if PLACEHOLDER_SOURCE in result.pip_spec else
         f"CI installs {result.pip_spec}: change {PIP_SPEC_VARIABLE} in {WORKFLOW_FILE} to "
         "move it"),
        "push: pull requests get a plan comment, main applies, a daily job looks for drift",
    ]
    return steps
