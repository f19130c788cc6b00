"""Rollback under the trust gate (issue 8 item 11), against one real sandbox:

* a run of ``apply --commit`` records the commit it made, so ``rollback --to <run id>``
  restores it;
* the brief's recipe ``git checkout HEAD~1 -- .out/journal/ && make reconcile`` works: the
  restored folder is recognised as an earlier revision, that revision's inputs are read
  from git and re-checked with today's rules, and the files are applied as a rollback;
* a revision is refused when its files are not what its inputs render (forged), when
  today's built-in rules deny its inputs (an expired waiver), or when a user policy added
  since denies them -- both by ``converge rollback --to`` and by the recipe.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest

from converge.config.workspace import open_workspace
from converge.engine.pipeline import decide_project, load_valid_project
from converge.render.artifacts import render_artifacts
from converge.render.manifest import MANIFEST_FILE, build_manifest
from tests.conftest import REPO, CliResult
from tests.e2e.conftest import E2E, base_env
from tests.ops.test_rollback import (
    GIT_ENV,
    PROJECT,
    RollbackWorkspace,
    _git,
    applied_workspace,
    rollback_sandbox,
)
from tests.support.forge import edit_artifact_with_manifest

__all__ = ["rollback_sandbox"]  # the module's sandbox fixture, shared with test_rollback

pytestmark = pytest.mark.integration

RECIPE_LINE = (
    "rollback: .out/journal/ holds the artifacts of {short} (inputs re-checked from git, "
    "allowed by today's rules); kept"
)


@pytest.fixture
def ws(tmp_path: Path, rollback_sandbox: E2E) -> RollbackWorkspace:
    return applied_workspace(tmp_path, rollback_sandbox, PROJECT)


def cli(ws: RollbackWorkspace, *args: str) -> CliResult:
    """A vendor command at the module's sandbox, with a git identity for --commit."""
    world = E2E(ws.root, ws.sandbox.sandbox)
    return world.cli(*args, "--target", "live", env=ws.sandbox.live_env(**GIT_ENV))


def local(ws: RollbackWorkspace, *args: str) -> CliResult:
    return E2E(ws.root, ws.sandbox.sandbox).cli(*args)


def vercel_value(ws: RollbackWorkspace, value: str) -> None:
    """Set the public NEXT_PUBLIC_APP_NAME value (the line ``value: …`` of the example)."""
    path = ws.root / "data/platforms/vercel/journal.yaml"
    text = path.read_text()
    start = text.index("value: Journal")
    end = text.index("\n", start)
    path.write_text(text[:start] + f"value: {value}" + text[end:])


def restore_out(ws: RollbackWorkspace, revision: str) -> None:
    """The brief's recipe, first half: ``git checkout REV -- .out/journal/``."""
    _git(ws.root, "checkout", revision, "--", f".out/{PROJECT}/")


def render_as_of(ws: RollbackWorkspace, day: dt.date) -> None:
    """decide + render as converge did on ``day`` (the decision and artifacts it wrote)."""
    workspace = open_workspace(ws.root)
    decision = decide_project(workspace, PROJECT, today=day)
    assert decision.verdict == "allow"
    artifacts = render_artifacts(load_valid_project(workspace, PROJECT))
    out = workspace.out_dir(PROJECT)
    for name, text in artifacts.items():
        (out / name).write_text(text)
    (out / MANIFEST_FILE).write_text(build_manifest(PROJECT, decision.decision_id, artifacts))


# -- (a) apply --commit records its commit --------------------------------------------------


def test_rollback_to_the_run_of_an_apply_commit_restores_that_commit(
    ws: RollbackWorkspace,
) -> None:
    vercel_value(ws, "Journal B")
    ws.rerender()
    committed = cli(ws, "apply", PROJECT, "--commit")
    assert committed.exit_code == 0, committed.output
    run_b = ws.runs()[0]
    head = _git(ws.repo, "rev-parse", "HEAD")
    assert run_b.git_revision == head
    assert _git(ws.repo, "status", "--porcelain") == ""  # its inputs were committed with it

    vercel_value(ws, "Journal C")
    ws.rerender()
    assert cli(ws, "apply", PROJECT).exit_code == 0

    restored = cli(ws, "rollback", PROJECT, "--to", run_b.id)

    assert restored.exit_code == 0, restored.output
    assert f"rolled back journal to {head[:12]}" in restored.output
    assert ws.plan_at(head).empty
    assert (ws.runs()[0].command, ws.runs()[0].git_revision) == ("rollback", head)


# -- (b) the brief's recipe ------------------------------------------------------------------


def _revision_b(ws: RollbackWorkspace) -> str:
    vercel_value(ws, "Journal B")
    ws.rerender()
    revision = ws.commit("B")
    assert cli(ws, "apply", PROJECT).exit_code == 0
    return revision


def test_the_briefs_recipe_reapplies_the_previous_revision_with_make_reconcile(
    ws: RollbackWorkspace,
) -> None:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    if subprocess.run([make, "-q", ".venv/.installed"], cwd=REPO, check=False).returncode != 0:
        pytest.skip("the virtualenv is not set up (make would install packages)")
    revision_a = ws.revision_a
    _revision_b(ws)
    runs_before = len(ws.runs())
    assert not ws.plan_at(revision_a).empty

    restore_out(ws, "HEAD~1")
    done = subprocess.run(
        [make, "--no-print-directory", "reconcile", f"PROJECT={PROJECT}", f"WORKSPACE={ws.root}"],
        cwd=REPO,
        env=base_env(**ws.sandbox.live_env(CONVERGE_TARGET="live")),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert RECIPE_LINE.format(short=revision_a[:12]) in done.stdout
    assert done.stdout.splitlines()[-1] == "✅ All reconcilers completed for journal"
    new_runs = ws.runs()[: len(ws.runs()) - runs_before]
    assert [(r.command, r.result, r.git_revision) for r in new_runs] == [
        ("rollback", "succeeded", revision_a)
    ] * 3
    assert ws.plan_at(revision_a).empty
    assert (ws.root / ".out/journal/decision.json").read_bytes() == subprocess.run(
        ["git", "-C", str(ws.root), "show", f"{revision_a}:ws/.out/journal/decision.json"],
        capture_output=True,
        check=True,
    ).stdout


def test_after_the_recipe_plan_and_apply_use_the_restored_revision_as_a_rollback(
    ws: RollbackWorkspace,
) -> None:
    revision_a = ws.revision_a
    revision_b = _revision_b(ws)
    restore_out(ws, "HEAD~1")

    planned = cli(ws, "plan", PROJECT)
    applied = cli(ws, "apply", PROJECT)

    assert planned.exit_code == 2, planned.output
    assert f"artifacts of {revision_a[:12]}" in planned.output
    assert applied.exit_code == 0, applied.output
    newest = ws.runs()[0]
    assert (newest.command, newest.git_revision) == ("rollback", revision_a)
    assert ws.plan_at(revision_a).empty

    restore_out(ws, "HEAD")  # back to B: an ordinary apply again
    again = cli(ws, "apply", PROJECT)
    assert again.exit_code == 0, again.output
    assert (ws.runs()[0].command, ws.runs()[0].git_revision) == ("apply", revision_b)


def _forged_revision(ws: RollbackWorkspace) -> str:
    """A committed revision whose vercel-env.json was edited with its manifest entry and
    digest, followed by a clean revision."""
    vercel_value(ws, "Journal F")
    ws.rerender()
    edit_artifact_with_manifest(
        ws.root / ".out" / PROJECT,
        "vercel-env.json",
        '"Journal F"',
        '"Forged"',
        redigest=True,
    )
    forged = ws.commit("F: forged artifact")
    vercel_value(ws, "Journal G")
    ws.rerender()
    ws.commit("G")
    return forged


def test_a_forged_old_revision_is_refused_by_the_recipe_and_by_rollback(
    ws: RollbackWorkspace,
) -> None:
    forged = _forged_revision(ws)
    runs_before = [r.id for r in ws.runs()]

    by_rollback = cli(ws, "rollback", PROJECT, "--to", forged)
    restore_out(ws, forged)
    rendered = local(ws, "render", PROJECT)
    applied = cli(ws, "apply", PROJECT)

    assert by_rollback.exit_code == 1, by_rollback.output
    assert f"revision {forged[:12]} of journal cannot be applied" in by_rollback.output
    assert "vercel-env.json" in by_rollback.output
    for result in (rendered, applied):
        assert result.exit_code == 1, result.output
        assert f"revision {forged[:12]}" in result.output, result.output
        assert ".out/journal/vercel-env.json was edited after rendering" in result.output
    assert [r.id for r in ws.runs()] == runs_before


def _expired_waiver_revision(ws: RollbackWorkspace) -> str:
    """A revision decided while its waiver was valid; the waiver has expired since."""
    path = ws.root / "projects/journal/waivers.yaml"
    path.write_text(path.read_text().replace("expires: 2027-06-30", "expires: 2026-01-31"))
    render_as_of(ws, dt.date(2026, 1, 15))
    expired = ws.commit("W: waiver valid until 2026-01-31")
    path.write_text(path.read_text().replace("expires: 2026-01-31", "expires: 2099-12-31"))
    ws.rerender()
    ws.commit("X: waiver renewed")
    assert cli(ws, "apply", PROJECT).exit_code == 0
    return expired


def test_a_revision_denied_by_todays_built_in_rules_is_refused(ws: RollbackWorkspace) -> None:
    expired = _expired_waiver_revision(ws)
    runs_before = [r.id for r in ws.runs()]

    by_rollback = cli(ws, "rollback", PROJECT, "--to", expired)
    restore_out(ws, expired)
    rendered = local(ws, "render", PROJECT)
    applied = cli(ws, "apply", PROJECT)

    for result in (by_rollback, rendered, applied):
        assert result.exit_code == 1, result.output
        assert f"revision {expired[:12]}" in result.output, result.output
        assert "denied by today's rules: waiver.expired at projects/journal/waivers.yaml:" in (
            result.output
        ), result.output
    assert [r.id for r in ws.runs()] == runs_before


def _revision_before_the_owners_policy(ws: RollbackWorkspace) -> str:
    """A revision without owners, from before policies/owners.rego required them."""
    policy = ws.root / "policies/owners.rego"
    saved = policy.read_text()
    policy.unlink()
    project = ws.root / "projects/journal/project.yaml"
    project.write_text(project.read_text().replace("owners: [platform@acme.example]\n", ""))
    ws.rerender()
    old = ws.commit("P: no owners, no owners policy")
    policy.write_text(saved)
    project.write_text(project.read_text() + "owners: [platform@acme.example]\n")
    ws.rerender()
    ws.commit("Q: owners policy")
    assert cli(ws, "apply", PROJECT).exit_code == 0
    return old


def test_a_revision_predating_a_user_policy_is_refused_by_that_policy(
    ws: RollbackWorkspace,
) -> None:
    old = _revision_before_the_owners_policy(ws)
    runs_before = [r.id for r in ws.runs()]

    by_rollback = cli(ws, "rollback", PROJECT, "--to", old)
    restore_out(ws, old)
    applied = cli(ws, "apply", PROJECT)

    for result in (by_rollback, applied):
        assert result.exit_code == 1, result.output
        assert f"revision {old[:12]}" in result.output, result.output
        assert "denied by today's rules: rego.converge.policy.deny at policies/owners.rego:" in (
            result.output
        ), result.output
    assert [r.id for r in ws.runs()] == runs_before
