"""What the generated workflow promises a team, read from the file itself: pinned
actions, least privilege, secrets only where vendors are reached, one install spec."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from converge.scaffold import init_workspace
from converge.scaffold.workspace import PIP_SPEC_VARIABLE, WORKFLOW_FILE, WORKFLOW_SECRETS
from tests.support.workflow import evaluate

VENDOR_JOBS = {"plan", "reconcile", "drift"}


@pytest.fixture(scope="module")
def workflow(tmp_path_factory: pytest.TempPathFactory) -> dict[Any, Any]:
    root = tmp_path_factory.mktemp("ws")
    init_workspace(root, pip_spec="converge==9.9.9")
    document: dict[Any, Any] = yaml.safe_load((root / WORKFLOW_FILE).read_text())
    return document


def steps(workflow: dict[Any, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, step) for name, job in workflow["jobs"].items() for step in job["steps"]]


def test_triggers_pull_requests_main_and_a_schedule(workflow: dict[Any, Any]) -> None:
    on = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert on["pull_request"]["branches"] == ["main"]
    assert on["push"]["branches"] == ["main"]
    assert len(on["schedule"]) == 1 and on["schedule"][0]["cron"]
    assert workflow["jobs"]["drift"]["if"] == (
        "github.event_name == 'schedule' || github.event_name == 'workflow_dispatch'"
    )


def test_every_action_is_pinned_to_a_commit(workflow: dict[Any, Any]) -> None:
    used = [step["uses"] for _, step in steps(workflow) if "uses" in step]
    assert used
    for ref in used:
        assert re.fullmatch(r"actions/[a-z-]+@[0-9a-f]{40}", ref), ref


def test_least_privilege_per_job(workflow: dict[Any, Any]) -> None:
    assert workflow["permissions"] == {}
    granted = {name: job["permissions"] for name, job in workflow["jobs"].items()}
    assert granted == {
        "validation": {"contents": "read"},
        "plan": {"contents": "read", "pull-requests": "write"},
        "reconcile": {"contents": "write"},
        "drift": {"contents": "read"},
    }
    # Only the job that pushes keeps git credentials after checkout.
    for name, step in steps(workflow):
        if step.get("uses", "").startswith("actions/checkout@"):
            persisted = step.get("with", {}).get("persist-credentials", True)
            assert persisted is (name == "reconcile"), name


def test_secrets_reach_only_the_jobs_that_talk_to_vendors(workflow: dict[Any, Any]) -> None:
    for name, job in workflow["jobs"].items():
        env = job.get("env", {})
        if name in VENDOR_JOBS:
            assert env == {s: f"${{{{ secrets.{s} }}}}" for s in WORKFLOW_SECRETS}, name
        else:
            assert "secrets." not in yaml.safe_dump(job), name


def test_runs_on_main_are_never_cancelled_and_each_event_queues_alone(
    workflow: dict[Any, Any],
) -> None:
    concurrency = workflow["concurrency"]
    assert concurrency["group"] == (
        "${{ github.workflow }}-${{ github.ref }}-${{ github.event_name }}"
    )
    assert concurrency["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}"
    assert workflow["jobs"]["reconcile"]["if"] == (
        "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    )


def test_converge_is_installed_from_one_spec(workflow: dict[Any, Any]) -> None:
    assert workflow["env"][PIP_SPEC_VARIABLE] == "converge==9.9.9"
    installs = [step for _, step in steps(workflow) if step.get("id") == "install-converge"]
    assert len(installs) == len(workflow["jobs"])
    assert {step["run"] for step in installs} == {'python -m pip install "$CONVERGE_PIP_SPEC"'}
    assert "9.9.9" not in yaml.safe_dump(workflow["jobs"])


def test_artifacts_travel_between_jobs_and_the_audit_log_is_kept(
    workflow: dict[Any, Any],
) -> None:
    jobs = workflow["jobs"]
    upload = next(s for s in jobs["validation"]["steps"] if "upload-artifact" in s.get("uses", ""))
    assert upload["with"]["name"] == "decision-artifacts"
    assert upload["with"]["path"] == ".out/"
    assert upload["with"]["include-hidden-files"] is True  # .out/ is a hidden folder
    for job in ("plan", "reconcile"):
        download = next(s for s in jobs[job]["steps"] if "download-artifact" in s.get("uses", ""))
        assert download["with"] == {"name": "decision-artifacts", "path": ".out/"}
        assert jobs[job]["needs"] == "validation"
    log = next(s for s in jobs["reconcile"]["steps"]
               if s.get("with", {}).get("name") == "reconciliation-log")
    assert log["if"] == "always()"
    assert log["with"]["path"] == "reconciliation.log"
    runs = [s.get("run", "") for s in jobs["reconcile"]["steps"]]
    assert any("converge apply --all --commit" in run for run in runs)


@pytest.mark.parametrize(
    ("event", "head_repository", "jobs"),
    [
        ("pull_request", "acme/infra", {"validation", "plan"}),
        ("pull_request", "someone/fork", {"validation"}),  # no secrets for forks: no plan
        ("push", None, {"validation", "reconcile"}),
        ("schedule", None, {"drift"}),
        ("workflow_dispatch", None, {"drift"}),
    ],
)
def test_which_jobs_each_event_starts(
    workflow: dict[Any, Any], event: str, head_repository: str | None, jobs: set[str]
) -> None:
    github = {
        "event_name": event,
        "ref": "refs/pull/7/merge" if event == "pull_request" else "refs/heads/main",
        "repository": "acme/infra",
        "event": {"pull_request": {"head": {"repo": {"full_name": head_repository}}}},
    }
    started = {name for name, job in workflow["jobs"].items()
               if evaluate(job["if"], {"github": github})}
    assert started == jobs
