"""The trust gate (architecture §5 "Trust"): ``.out/<p>/`` is a record, not a credential.

Whoever can edit a pull request can edit every file of ``.out/<p>/``: ``decision.json``
(its ``decision_id`` is a plain content hash anyone recomputes), ``manifest.json`` with
its digests, every artifact, and ``converge.yaml`` too. So nothing reads a verdict or an
artifact on its word: every command that reads ``.out/<p>/`` (``render``, ``render
--check``, ``plan``, ``apply``, ``drift``, ``health``, ``rollout``, ``rollback``)
re-validates the inputs, re-evaluates the policies and re-renders in memory
(``engine.fresh``), and accepts the folder only when every file is byte-identical to that
render, with no file missing or added. The desired state then comes from the in-memory
render: the same bytes. A refusal names the first file a person would fix.

One more state is accepted, the brief's rollback recipe (``git checkout HEAD~1 --
.out/<p>/``): when the folder does not match the current inputs, differs from HEAD's, and
equals the folder of an ancestor of HEAD, that revision's inputs are read from git and
checked with *today's* built-in rules and *today's* user policies (an old commit cannot
bypass a policy added since; an expired waiver is a failure), then re-rendered with the
policies its decision names, and must again be byte-identical to the folder. The result
is applied as a rollback to that revision. ``converge rollback`` verifies the revision it
re-applies the same way (``verify_revision``).

Cost: one validate + decide + render per project and command (a few milliseconds; see
``benchmarks/bench_trust.py``); git runs only when the folder does not match.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from converge.config.workspace import Workspace, project_file_paths
from converge.desired import DesiredState
from converge.engine.fresh import (
    Rendering,
    evaluate_decision,
    load_valid_project,
    render_in_memory,
    render_inputs,
)
from converge.engine.git import (
    RevisionError,
    changed_since_head,
    find_folder_revision,
    read_files_at,
)
from converge.errors import (
    ConfigError,
    ConfigErrors,
    ConvergeError,
    PolicyDenied,
    StaleArtifactError,
)
from converge.policies.contract import DECISION_FILE, Decision, check_current, parse_decision
from converge.render.manifest import (
    MANIFEST_FILE,
    check_digest,
    check_manifest,
    parse_manifest,
    render_hint,
)

ROLLBACK_COMMAND = "rollback"
_MAX_FILE_BYTES = 16 * 1024 * 1024  # far above any artifact; a bigger file is not one
_LISTED_RULES = 4


@dataclass(frozen=True)
class TrustedArtifacts:
    """A project's artifacts, proven to be what the policies allow: a fresh render.

    ``revision`` is None for the artifacts of the current inputs, else the earlier git
    revision they were verified against (a rollback)."""

    rendering: Rendering
    desired: DesiredState
    revision: str | None = None

    @property
    def project(self) -> str:
        return self.rendering.project


def out_label(workspace: Workspace, project: str) -> str:
    """``.out/<p>`` as the user names it (workspace-relative when inside it)."""
    out_dir = workspace.out_dir(project)
    try:
        return out_dir.relative_to(workspace.root).as_posix()
    except ValueError:
        return out_dir.as_posix()


def rollback_line(workspace: Workspace, project: str, revision: str, outcome: str) -> str:
    """The one line that says ``.out/<p>/`` holds a verified earlier revision."""
    return (
        f"rollback: {out_label(workspace, project)}/ holds the artifacts of {revision[:12]} "
        f"(inputs re-checked from git, allowed by today's rules); {outcome}"
    )


# -- the current inputs ---------------------------------------------------------------------


def trusted_artifacts(
    workspace: Workspace, project: str, *, today: dt.date | None = None
) -> TrustedArtifacts:
    """``.out/<p>/`` verified against a fresh render of the workspace's current inputs
    (or, after the brief's rollback recipe, of the earlier revision it holds).

    Raises ConfigErrors for invalid inputs, PolicyDenied for a deny, StaleArtifactError
    naming the first file that differs."""
    rel = out_label(workspace, project)
    disk = read_out_folder(workspace.out_dir(project), rel)
    problem: ConvergeError
    try:
        fresh = render_in_memory(workspace, project, today=today)
    except (ConfigError, ConfigErrors) as exc:
        problem = exc
    else:
        expected = fresh.files
        if disk.get(DECISION_FILE) == expected[DECISION_FILE] and fresh.decision.verdict != "allow":
            raise PolicyDenied(
                f"decision for {project} is deny; nothing is applied",
                hint=f"fix the failures shown by make decision PROJECT={project}",
            )
        if disk == expected:
            return TrustedArtifacts(fresh, fresh.desired())
        problem = explain_mismatch(disk, fresh, project=project, rel=rel, current=True)
    restored = restored_revision(workspace, project, disk, today=today)
    if restored is not None:
        return restored
    raise problem


def read_out_folder(out_dir: Path, rel: str) -> dict[str, bytes]:
    """Every file directly in ``out_dir`` by name (sub-folders are not artifacts); none
    when the folder does not exist. A symbolic link or special file is refused, never
    followed: the folder is untrusted input."""
    if out_dir.is_symlink():
        raise StaleArtifactError(
            f"{rel}/ is a symbolic link; converge reads artifacts only from a real folder",
            hint="replace it with the rendered folder (make render)",
        )
    if not out_dir.is_dir():
        return {}
    files: dict[str, bytes] = {}
    with os.scandir(out_dir) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            where = f"{rel}/{entry.name}"
            if entry.is_symlink():
                raise StaleArtifactError(
                    f"{where} is a symbolic link; converge reads only regular files there",
                    hint="remove it and render again (make render)",
                )
            if entry.is_dir(follow_symlinks=False):
                continue
            if not entry.is_file(follow_symlinks=False):
                raise StaleArtifactError(f"{where} is not a regular file")
            if entry.stat(follow_symlinks=False).st_size > _MAX_FILE_BYTES:
                raise StaleArtifactError(f"{where} is too large to be an artifact")
            files[entry.name] = Path(entry.path).read_bytes()
    return files


def explain_mismatch(
    files: dict[str, bytes], fresh: Rendering, *, project: str, rel: str, current: bool
) -> StaleArtifactError:
    """The first difference between ``files`` (the folder ``rel``) and ``fresh``, as the
    sentence that tells a person what to fix. ``current``: ``fresh`` rendered the
    workspace's current inputs (else an earlier revision's, ``verify_revision``)."""
    decision_hint = f"run make decision PROJECT={project}"
    whose = "the current inputs" if current else "its inputs"
    expected = fresh.files
    raw = files.get(DECISION_FILE)
    if raw is None:
        return StaleArtifactError(
            f"no decision for {project}: {rel}/{DECISION_FILE} is missing", hint=decision_hint
        )
    if raw != expected[DECISION_FILE]:
        try:
            claimed = parse_decision(raw, project, f"{rel}/{DECISION_FILE}")
            if current:
                check_current(
                    claimed,
                    inputs=fresh.decision.inputs,
                    user_policies=fresh.decision.user_policies,
                )
        except StaleArtifactError as exc:
            return exc
        suffix = f"; run make decision PROJECT={project}" if current else ""
        return StaleArtifactError(
            f"{rel}/{DECISION_FILE} does not match the policies' verdict on {whose} "
            f"({_decision_difference(claimed, fresh.decision)}){suffix}",
            hint=decision_hint,
        )
    hint = render_hint(project)
    raw_manifest = files.get(MANIFEST_FILE)
    if raw_manifest is None:
        return StaleArtifactError(
            f"no manifest for {project}: {rel}/{MANIFEST_FILE} is missing", hint=hint
        )
    try:
        manifest = parse_manifest(raw_manifest, project, f"{rel}/{MANIFEST_FILE}")
        check_manifest(
            manifest, files, project=project, decision_id=fresh.decision.decision_id, rel=rel
        )
    except StaleArtifactError as exc:
        return exc
    for name in sorted((set(files) | set(fresh.artifacts)) - {DECISION_FILE, MANIFEST_FILE}):
        if name not in fresh.artifacts:
            return StaleArtifactError(
                f"artifact {rel}/{name} is not produced by a render of {whose} "
                "(manifest.json was edited to list it)",
                hint=hint,
            )
        if name not in files:
            return StaleArtifactError(f"artifact {rel}/{name} is missing", hint=hint)
        if files[name] != expected[name]:
            return StaleArtifactError(
                f"artifact {rel}/{name} was edited after rendering (it differs from a render "
                f"of {whose}, and manifest.json was edited to match it)",
                hint=hint,
            )
    try:
        check_digest(manifest, project=project, rel=rel)
    except StaleArtifactError as exc:
        return exc
    return StaleArtifactError(f"{rel}/{MANIFEST_FILE} differs from a render of {whose}", hint=hint)


def _decision_difference(claimed: Decision, fresh: Decision) -> str:
    """What the decision on disk says that the policies do not, in a few words."""
    if claimed.verdict != fresh.verdict:
        if fresh.verdict == "allow":
            return "it says deny; they allow"
        failing = list(dict.fromkeys(r.rule for r in fresh.contract.results if r.status == "fail"))
        listed = ", ".join(failing[:_LISTED_RULES]) + (" …" if len(failing) > _LISTED_RULES else "")
        return f"it says allow; they deny: {listed}"
    for name, recorded, actual in (
        ("inputs", claimed.inputs, fresh.inputs),
        ("user policies", claimed.user_policies, fresh.user_policies),
    ):
        for path in sorted(set(recorded) | set(actual)):
            if recorded.get(path) != actual.get(path):
                return f"it was made for other {name}: {path} differs"
    ours, theirs = claimed.contract.policies.builtin, fresh.contract.policies.builtin
    if ours != theirs:
        return f"it was decided by the built-in rules {ours}; these are {theirs}"
    recorded_status = {(r.rule, r.resource): r.status for r in claimed.contract.results}
    for result in fresh.contract.results:
        status = recorded_status.get((result.rule, result.resource))
        if status != result.status:
            return (
                f"both say {fresh.verdict}, but its result for {result.rule} on "
                f"{result.resource} is {status or 'missing'}; theirs is {result.status}"
            )
    return f"both say {fresh.verdict}, but its results or waivers differ from theirs"


# -- an earlier revision --------------------------------------------------------------------


def restored_revision(
    workspace: Workspace, project: str, files: dict[str, bytes], *, today: dt.date | None = None
) -> TrustedArtifacts | None:
    """When ``.out/<p>/`` holds the files of an earlier revision restored by hand (the
    brief's ``git checkout HEAD~1 -- .out/<p>/``), that revision, verified; None when the
    folder is not such a restore (as committed at HEAD, not in git, or no ancestor of
    HEAD holds exactly these files). Raises when the revision fails verification."""
    if DECISION_FILE not in files:
        return None
    try:
        relative = workspace.out_dir(project).relative_to(workspace.root).as_posix()
    except ValueError:
        return None
    try:
        if not changed_since_head(workspace.root, relative):
            return None  # as committed: the inputs changed since, not the artifacts
        commit = find_folder_revision(workspace.root, relative, files)
    except RevisionError:
        return None
    if commit is None:
        return None
    rel = out_label(workspace, project)
    return verify_revision(
        workspace,
        project,
        commit,
        files,
        today=today,
        lead=f"{rel}/ holds the artifacts of revision {commit[:12]}, which cannot be applied: ",
        hint=(
            f"restore the current artifacts (git checkout HEAD -- {rel}/) or roll back to "
            "a revision today's rules allow"
        ),
    )


def verify_revision(
    workspace: Workspace,
    project: str,
    commit: str,
    files: dict[str, bytes],
    *,
    today: dt.date | None = None,
    lead: str = "",
    hint: str = "",
) -> TrustedArtifacts:
    """``files`` (``.out/<p>/`` of ``commit``) verified: the revision's inputs, read from
    git, pass today's validation, today's built-in rules and today's user policies; and
    re-decided with the user policies its decision names and re-rendered, they give
    exactly ``files``. Every refusal is one sentence starting with ``lead``."""
    rel = out_label(workspace, project)
    day = today or dt.date.today()

    def refuse(detail: str, *, denied: bool = False) -> ConvergeError:
        error = PolicyDenied if denied else StaleArtifactError
        return error(f"{lead}{detail}", hint=hint)

    raw = files.get(DECISION_FILE)
    if raw is None:
        raise refuse(f"it has no {rel}/{DECISION_FILE}")
    try:
        claimed = parse_decision(raw, project, f"{rel}/{DECISION_FILE}")
    except StaleArtifactError as exc:
        raise refuse(exc.message) from None
    policy_paths = sorted(claimed.user_policies)
    for path in policy_paths:
        if not _inside(path):
            raise refuse(f"its decision names a policy file outside the workspace ({path!r})")
    try:
        sources = read_files_at(workspace.root, commit, project_file_paths(project).values())
        policies = read_files_at(workspace.root, commit, policy_paths)
    except RevisionError as exc:
        raise refuse(exc.message) from None
    with tempfile.TemporaryDirectory(prefix="converge-revision-") as tmp:
        base = Path(tmp)
        for path, data in {**sources, **policies}.items():
            target = base / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        earlier = Workspace(root=base, settings=workspace.settings, settings_source=None)
        try:
            inputs = load_valid_project(earlier, project)
        except (ConfigError, ConfigErrors) as exc:
            raise refuse(f"its inputs fail today's validation: {exc.render()}") from None
        timeout = workspace.settings.policy_timeout_seconds
        todays = evaluate_decision(
            inputs,
            policy_files=workspace.policy_files(),
            policy_root=workspace.root,
            today=day,
            policy_timeout=timeout,
        )
        failure = next((r for r in todays.contract.results if r.status == "fail"), None)
        if failure is not None:
            where = f" at {failure.location}" if failure.location else ""
            raise refuse(
                f"its inputs are denied by today's rules: {failure.rule}{where} "
                f"({failure.message})",
                denied=True,
            )
        then = todays
        if todays.user_policies != claimed.user_policies:
            try:
                then = evaluate_decision(
                    inputs,
                    policy_files=[base / path for path in sorted(policies)],
                    policy_root=base,
                    today=day,
                    policy_timeout=timeout,
                )
            except (ConfigError, ConfigErrors) as exc:
                raise refuse(f"its user policies fail today: {exc.render()}") from None
        rendering = render_inputs(inputs, then)
    if files != rendering.files:
        mismatch = explain_mismatch(files, rendering, project=project, rel=rel, current=False)
        raise refuse(mismatch.message)
    if then.verdict != "allow":
        raise refuse("its decision is deny", denied=True)
    return TrustedArtifacts(rendering, rendering.desired(), revision=commit)


def _inside(path: str) -> bool:
    """A workspace-relative path that stays inside the workspace."""
    pure = PurePosixPath(path)
    return bool(path) and not pure.is_absolute() and ".." not in pure.parts and "\\" not in path
