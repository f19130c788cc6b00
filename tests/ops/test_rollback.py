"""Rollback (``converge rollback``) and automatic rollback after a failed ``apply``, against
one real sandbox for the module (loopback HTTP, real PostgreSQL).

Each test works in its own git-initialised copy of the example workspace (the workspace is
a subfolder of the repository) with its own journal; the vendors are shared, and every
test starts by applying revision A, which converges them whatever an earlier test left.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from converge.config.workspace import open_workspace
from converge.engine.context import ReconcileOptions
from converge.engine.journal import RunRecord, open_journal
from converge.engine.plan import Plan
from converge.engine.reconcile import plan_project
from converge.ops.apply import apply_with_rollback
from converge.ops.rollback import RestorePoint, revision_artifacts
from converge_sandbox.faults import FaultInjector, parse_faults
from converge_sandbox.runner import RunningSandbox
from tests.conftest import CliResult
from tests.e2e.conftest import E2E, copy_workspace, prepare_projects, start_e2e
from tests.support.context import run_context

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}
PROJECT = "journal"


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **GIT_ENV},
    )
    return done.stdout.strip()


def register_rollout_commands() -> None:
    from converge.cli.main import cli
    from converge.cli.ops_rollout import rollback, rollout

    for command in (rollback, rollout):
        if command.name not in cli.commands:
            cli.add_command(command)


@pytest.fixture(scope="module")
def rollback_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2E]:
    register_rollout_commands()
    world = start_e2e(tmp_path_factory.mktemp("rollback") / "ws", projects=())
    try:
        yield world
    finally:
        world.sandbox.stop()


class RollbackWorkspace:
    """A git repository holding the workspace ``ws/``, run against the module sandbox."""

    def __init__(self, repo: Path, sandbox: E2E, project: str = PROJECT):
        self.project = project
        self.repo = repo
        self.root = repo / "ws"
        self.sandbox = sandbox
        self.revision_a = ""

    def cli(self, *args: str) -> CliResult:
        world = E2E(self.root, self.sandbox.sandbox)
        return world.cli(*args, "--target", "live", env=self.sandbox.live_env())

    def commit(self, message: str) -> str:
        _git(self.repo, "add", "-A")
        _git(self.repo, "commit", "-qm", message)
        return _git(self.repo, "rev-parse", "HEAD")

    def rerender(self) -> None:
        prepare_projects(self.root, (self.project,))

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.root / relative
        text = path.read_text()
        assert old in text, f"{old!r} not in {relative}"
        path.write_text(text.replace(old, new, 1))

    def runs(self) -> list[RunRecord]:
        ws = open_workspace(self.root)
        with open_journal(ws.settings.state, ws.root) as journal:
            return journal.last_runs(self.project, 20)

    def plan_at(self, commit: str, regions: tuple[str | None, ...] | None = None) -> Plan:
        """The plan of revision ``commit``'s artifacts against the vendors now (no write),
        for the Supabase refs of ``regions`` only when given."""
        with run_context(self.root, self.sandbox.live_env()) as context:
            artifacts = revision_artifacts(context.workspace, self.project, RestorePoint(commit))
            return plan_project(
                context,
                self.project,
                options=ReconcileOptions(command="plan", regions=regions),
                artifacts=artifacts.trusted,
            )


def applied_workspace(tmp_path: Path, sandbox: E2E, project: str) -> RollbackWorkspace:
    """Revision A of a workspace (subfolder ``ws`` of a repository) committed and applied."""
    repo = tmp_path / "repo"
    copy_workspace(repo / "ws")
    prepare_projects(repo / "ws", (project,))
    (repo / "ws" / ".gitignore").write_text(".converge/\nreconciliation.log\n")
    _git(repo, "init", "-q")
    ws = RollbackWorkspace(repo, sandbox, project)
    ws.revision_a = ws.commit("A")
    applied = ws.cli("apply", project)
    assert applied.exit_code == 0, applied.output
    return ws


@pytest.fixture
def rollback_ws(tmp_path: Path, rollback_sandbox: E2E) -> RollbackWorkspace:
    return applied_workspace(tmp_path, rollback_sandbox, PROJECT)


def _commit_b(ws: RollbackWorkspace) -> str:
    """Revision B: an identity TTL (Infisical) and a public value (Vercel) changed."""
    ws.edit("projects/journal/identities.yaml", "access_token_ttl: 3600", "access_token_ttl: 1800")
    ws.edit("data/platforms/vercel/journal.yaml", "value: Journal\n", "value: Journal B\n")
    ws.rerender()
    return ws.commit("B")


@contextmanager
def rollback_fault(sandbox: RunningSandbox, vendor: str, spec: str) -> Iterator[None]:
    """Inject ``spec`` into one vendor's emulator for the ``with`` block."""
    middleware = sandbox.middlewares[vendor]
    saved = middleware.injector
    middleware.injector = FaultInjector(parse_faults(spec))
    try:
        yield
    finally:
        middleware.injector = saved


def test_a_failed_apply_is_rolled_back_to_the_last_clean_revision(
    rollback_ws: RollbackWorkspace,
) -> None:
    revision_a = rollback_ws.revision_a
    run_a = rollback_ws.runs()[0]
    revision_b = _commit_b(rollback_ws)
    assert not rollback_ws.plan_at(revision_b).empty

    # Infisical takes the new TTL, then Vercel refuses the first write: a part-way failure.
    with rollback_fault(rollback_ws.sandbox.sandbox, "vercel", "fail_write=1,error_codes=400"):
        result = rollback_ws.cli("apply", PROJECT)

    assert result.exit_code == 1, result.output
    assert f"↩️ rolled back journal to {revision_a[:12]} (run {run_a.id})" in result.output
    rollback, failed = rollback_ws.runs()[:2]
    assert (failed.command, failed.result, failed.git_revision) == ("apply", "failed", revision_b)
    ws = open_workspace(rollback_ws.root)
    with open_journal(ws.settings.state, ws.root) as journal:
        done = [(o.system, o.state) for o in journal.operations(failed)]
    assert ("infisical", "done") in done and ("vercel", "failed") in done
    assert (rollback.command, rollback.result) == ("rollback", "succeeded")
    assert rollback.git_revision == revision_a
    assert rollback.manifest_digest == run_a.manifest_digest
    assert rollback_ws.plan_at(revision_a).empty  # no drift against revision A


def test_a_library_caller_gets_automatic_rollback_and_the_commit(
    rollback_ws: RollbackWorkspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ops.apply.apply_with_rollback``: what ``converge apply`` does around the engine's
    apply, without the CLI (it reports the failure instead of raising)."""
    revision_a = rollback_ws.revision_a
    _commit_b(rollback_ws)
    with (
        rollback_fault(rollback_ws.sandbox.sandbox, "vercel", "fail_write=1,error_codes=400"),
        run_context(rollback_ws.root, rollback_ws.sandbox.live_env()) as context,
    ):
        failed = apply_with_rollback(context, PROJECT)

    assert failed.outcome is None and failed.error is not None
    assert "vercel answered 400" in failed.error.message
    assert failed.rollback is not None and failed.rollback.status == "restored"
    assert failed.rollback.point is not None and failed.rollback.point.revision == revision_a
    assert rollback_ws.plan_at(revision_a).empty

    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)
    with run_context(rollback_ws.root, rollback_ws.sandbox.live_env()) as context:
        rollback_ws.edit("data/platforms/vercel/journal.yaml", "value: Journal B\n", "value: C\n")
        rollback_ws.rerender()
        done = apply_with_rollback(context, PROJECT, commit=True)

    assert done.error is None and done.outcome is not None
    assert done.commit is not None and done.commit.committed, done.commit
    assert done.commit.folder == f".out/{PROJECT}"
    assert _git(rollback_ws.repo, "log", "-1", "--format=%s") == done.commit.message
    assert _git(rollback_ws.repo, "status", "--porcelain", "--", f"ws/.out/{PROJECT}") == ""


def test_no_rollback_leaves_the_failed_apply_in_place(rollback_ws: RollbackWorkspace) -> None:
    revision_a = rollback_ws.revision_a
    _commit_b(rollback_ws)

    with rollback_fault(rollback_ws.sandbox.sandbox, "vercel", "fail_write=1,error_codes=400"):
        result = rollback_ws.cli("apply", PROJECT, "--no-rollback")

    assert result.exit_code == 1
    assert "rolled back" not in result.output
    assert [r.command for r in rollback_ws.runs()][:2] == ["apply", "apply"]
    drifted = rollback_ws.plan_at(revision_a)
    assert [(c.system, c.kind) for c in drifted.changes if c.system == "infisical"]


def test_rollback_to_a_run_id_or_revision_restores_those_artifacts(
    rollback_ws: RollbackWorkspace,
) -> None:
    revision_a = rollback_ws.revision_a
    run_a = rollback_ws.runs()[0]
    revision_b = _commit_b(rollback_ws)
    assert rollback_ws.cli("apply", PROJECT).exit_code == 0
    assert not rollback_ws.plan_at(revision_a).empty

    by_run = rollback_ws.cli("rollback", PROJECT, "--to", run_a.id)

    assert by_run.exit_code == 0, by_run.output
    assert f"rolled back journal to {revision_a[:12]}" in by_run.output
    assert rollback_ws.plan_at(revision_a).empty
    newest = rollback_ws.runs()[0]
    assert (newest.command, newest.result, newest.git_revision) == (
        "rollback",
        "succeeded",
        revision_a,
    )
    audit = (rollback_ws.root / "reconciliation.log").read_text().splitlines()
    assert json.loads(audit[-1])["command"] == "rollback"

    by_revision = rollback_ws.cli("rollback", PROJECT, "--to", revision_b[:10])
    assert by_revision.exit_code == 0, by_revision.output
    assert rollback_ws.plan_at(revision_b).empty


def test_rollback_without_to_restores_the_previous_successful_apply(
    rollback_ws: RollbackWorkspace,
) -> None:
    revision_a = rollback_ws.revision_a
    _commit_b(rollback_ws)
    assert rollback_ws.cli("apply", PROJECT).exit_code == 0

    result = rollback_ws.cli("rollback", PROJECT, "--output", "json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)["projects"][PROJECT]
    assert report["revision"] == revision_a
    assert rollback_ws.plan_at(revision_a).empty


def test_a_run_applied_from_uncommitted_artifacts_records_no_revision_and_is_refused(
    rollback_ws: RollbackWorkspace,
) -> None:
    rollback_ws.edit("data/platforms/vercel/journal.yaml", "value: Journal\n", "value: Dirty\n")
    rollback_ws.rerender()  # .out/journal/ now differs from HEAD
    assert rollback_ws.cli("apply", PROJECT).exit_code == 0
    dirty = rollback_ws.runs()[0]
    assert dirty.git_revision is None

    result = rollback_ws.cli("rollback", PROJECT, "--to", dirty.id)

    assert result.exit_code == 1
    assert f"run {dirty.id} of journal has no git revision recorded" in result.output
    assert rollback_ws.runs()[0].id == dirty.id  # nothing was applied


def test_a_revision_with_a_hand_edited_artifact_is_never_applied(
    rollback_ws: RollbackWorkspace,
) -> None:
    rollback_ws.edit(".out/journal/vercel-env.json", '"Journal"', '"Tampered"')
    tampered = rollback_ws.commit("C: hand-edited artifact")
    runs_before = [r.id for r in rollback_ws.runs()]

    result = rollback_ws.cli("rollback", PROJECT, "--to", tampered)

    assert result.exit_code == 1
    assert f"revision {tampered[:12]} of journal cannot be applied" in result.output
    assert "vercel-env.json was edited after rendering" in result.output
    assert [r.id for r in rollback_ws.runs()] == runs_before


def test_a_failed_first_apply_says_there_is_no_earlier_clean_revision(
    tmp_path: Path, rollback_sandbox: E2E
) -> None:
    repo = tmp_path / "repo"
    copy_workspace(repo / "ws")
    _git(repo, "init", "-q")
    ws = RollbackWorkspace(repo, rollback_sandbox)
    # The module's sandbox may already hold what the example applies (a fresh state then
    # plans no Vercel write): a value no earlier test sent makes this apply write.
    ws.edit("data/platforms/vercel/journal.yaml", "value: Journal\n", "value: Journal first\n")
    ws.rerender()
    ws.commit("A")

    with rollback_fault(rollback_sandbox.sandbox, "vercel", "fail_write=1,error_codes=400"):
        result = ws.cli("apply", PROJECT)

    assert result.exit_code == 1
    assert "no rollback for journal: no earlier clean revision to restore" in result.output
    assert [r.command for r in ws.runs()] == ["apply"]
