"""The workflow ``converge init`` writes, run step by step against the sandbox.

A workspace made by ``converge init`` is decided, rendered and committed as its next
steps say, then pushed to a bare repository that plays GitHub. Each event's jobs run
their ``run:`` steps in order, each job in a fresh clone (``tests/support/workflow.py``
says what the local runner does and what it substitutes: the install step, and ``gh``
for GitHub's API). The sandbox is started as a user starts it
(``converge sandbox serve --workspace …``); its variables play the runner's environment
(base URLs) and the repository secrets (tokens), with a fingerprint key of the team's.

Until the sandbox creates the vendor objects of any workspace it serves, the sample
project is pointed at the ones it seeds for the example workspace (as a team points it
at its own); once it does, the sample runs as written.
"""

from __future__ import annotations

import json
import queue
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from converge.cli.target import SANDBOX_VARIABLES
from converge.scaffold.workspace import WORKFLOW_FILE
from tests.e2e.conftest import CONVERGE, base_env
from tests.support.workflow import JobResult, Runner, ambient_environment

pytestmark = pytest.mark.integration

SHIM = Path(__file__).resolve().parent.parent / "support" / "gh_shim.py"
MARKER = "<!-- converge-plan -->"
REPOSITORY = "acme/infra"


@dataclass
class CI:
    source: Path  # the developer's working copy
    origin: Path  # the bare repository playing GitHub
    runner: Runner
    sandbox_env: dict[str, str]
    gh_state: Path
    vercel: tuple[str, str]  # team, project of the sample
    first_push_artifacts: Path | None = None

    def git(self, *args: str) -> str:
        return subprocess.run(["git", "-C", str(self.source), *args], capture_output=True,
                              text=True, check=True).stdout

    def converge(self, *args: str) -> None:
        done = subprocess.run([str(CONVERGE), *args], cwd=self.source, env=base_env(),
                              capture_output=True, text=True, timeout=180, check=False)
        assert done.returncode == 0, done.stdout + done.stderr

    def push(self, *branches: str) -> None:
        self.git("push", "-q", "--force", "origin", *branches)

    def pull_request(self, branch: str, number: int = 7) -> dict[str, JobResult]:
        sha = self.git("rev-parse", branch).strip()
        payload = {"pull_request": {"number": number, "head": {
            "sha": sha, "repo": {"full_name": REPOSITORY}}}}
        return self.runner.run("pull_request", ref=branch, event_payload=payload)

    def comments(self, issue: int = 7) -> list[dict[str, Any]]:
        state = json.loads(self.gh_state.read_text())
        return [c for c in state["comments"] if c["issue"] == issue]


def _read_exports(process: subprocess.Popen[str], timeout: float = 120) -> dict[str, str]:
    """The ``export NAME=value`` lines ``converge sandbox serve`` prints once it serves."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    found: dict[str, str] = {}
    while set(SANDBOX_VARIABLES) - set(found):
        line = lines.get(timeout=timeout)
        if line is None:
            raise AssertionError("converge sandbox serve stopped before printing its variables")
        if line.startswith("export "):
            name, _, value = line[len("export "):].strip().partition("=")
            found[name] = shlex.split(value)[0] if value else ""
    return found


def _serves_sample(env: dict[str, str]) -> bool:
    """Whether the sandbox holds the sample's Vercel project, Supabase project and
    Infisical project as ``converge init`` writes them."""
    def get(url: str, token: str, **params: str) -> int:
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.get(url, headers=headers, params=params, timeout=60).status_code

    return (
        get(f"{env['VERCEL_API_URL']}/v9/projects/web", env["VERCEL_TOKEN"], slug="example")
        == 200
        and get(f"{env['SUPABASE_API_URL']}/v1/projects/abcdefghijklmnopqrst",
                env["SUPABASE_ACCESS_TOKEN"]) == 200
        and get(f"{env['INFISICAL_API_URL']}/api/v1/projects/slug/web",
                env["INFISICAL_TOKEN"]) == 200
    )


@pytest.fixture(scope="module")
def ci(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CI]:
    base = tmp_path_factory.mktemp("ci")
    source = base / "infra"
    done = subprocess.run([str(CONVERGE), "init", str(source)], env=base_env(),
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr

    serve = subprocess.Popen(
        [str(CONVERGE), "sandbox", "serve", "--workspace", str(source),
         "--rate-limits", "scale=1000"],  # one sandbox serves every run of this module
        env=base_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        sandbox_env = _read_exports(serve)
        vercel = ("example", "web")
        # The sandbox serves the projects the init'd workspace names (DESIGN §7).
        assert _serves_sample(sandbox_env)
        yield _prepare(base, source, sandbox_env, vercel)
    finally:
        serve.terminate()
        try:
            serve.wait(timeout=60)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve.wait()


def _prepare(
    base: Path, source: Path, sandbox_env: dict[str, str], vercel: tuple[str, str]
) -> CI:
    """The developer's next steps (git init, decide, render, commit), a bare "GitHub"
    remote, a runner with a gh shim and the repository secrets."""
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(source), *args], check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("config", "user.name", "Dev")
    git("config", "user.email", "dev@example.com")
    for command in ("validate", "decide", "render"):
        done = subprocess.run([str(CONVERGE), command, "--all"], cwd=source, env=base_env(),
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
    git("add", "-A")
    git("commit", "-q", "-m", "converge workspace")
    origin = base / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(source), str(origin)], check=True)
    git("remote", "add", "origin", str(origin))

    bin_dir = base / "bin"
    bin_dir.mkdir()
    gh = bin_dir / "gh"
    gh.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(str(SHIM))} "$@"\n')
    gh.chmod(0o755)
    gh_state = base / "gh-state.json"
    gh_state.write_text(json.dumps({"calls": [], "comments": [
        {"id": 1, "issue": 7, "user": {"login": "alice"}, "body": "looks good"},
        {"id": 2, "issue": 7, "user": {"login": "alice"},
         "body": f"{MARKER}\nquoting the bot: this one is not the bot's"},
    ]}))
    home = base / "home"
    home.mkdir()
    ambient = ambient_environment(
        [bin_dir, CONVERGE.parent], home,
        GH_SHIM_STATE=str(gh_state),
        INFISICAL_API_URL=sandbox_env["INFISICAL_API_URL"],
        VERCEL_API_URL=sandbox_env["VERCEL_API_URL"],
        SUPABASE_API_URL=sandbox_env["SUPABASE_API_URL"],
    )
    repository_secrets = {
        "INFISICAL_CLIENT_ID": sandbox_env["INFISICAL_CLIENT_ID"],
        "INFISICAL_CLIENT_SECRET": sandbox_env["INFISICAL_CLIENT_SECRET"],
        "VERCEL_TOKEN": sandbox_env["VERCEL_TOKEN"],
        "SUPABASE_ACCESS_TOKEN": sandbox_env["SUPABASE_ACCESS_TOKEN"],
        "CONVERGE_FINGERPRINT_KEY": secrets.token_hex(32),
    }  # INFISICAL_TOKEN is not set: the workflow passes it on empty
    workflow = yaml.safe_load((source / WORKFLOW_FILE).read_text())
    runner = Runner(workflow, origin, base / "runs", repository_secrets, ambient,
                    repository=REPOSITORY)
    return CI(source, origin, runner, sandbox_env, gh_state, vercel)


def ran(jobs: dict[str, JobResult]) -> dict[str, str]:
    return {name: job.status for name, job in jobs.items()}


def test_pull_requests_check_the_artifacts_and_keep_one_plan_comment(ci: CI) -> None:
    if shutil.which("jq") is None:
        pytest.skip("the gh shim filters with jq (Debian package jq), which is missing")
    # A pull request whose .out/ was rendered and committed with its change.
    ci.git("checkout", "-q", "-b", "feature")
    vercel_file = ci.source / "data" / "platforms" / "vercel" / "web.yaml"
    vercel_file.write_text(vercel_file.read_text().replace("value: Web", "value: Web app"))
    ci.converge("decide", "--all")
    ci.converge("render", "--all")
    ci.git("commit", "-q", "-am", "Rename the app")
    ci.push("feature")

    first = ci.pull_request("feature")

    assert ran(first) == {"validation": "success", "plan": "success",
                          "reconcile": "skipped", "drift": "skipped"}, first["plan"].log()
    plan = first["plan"]
    assert "changes planned" in plan.step("Plan").stdout, plan.log()
    assert "### converge plan: `web`" in plan.summary
    bot = [c for c in ci.comments() if c["user"]["login"] == "github-actions[bot]"]
    assert len(bot) == 1
    assert bot[0]["body"].startswith(MARKER + "\n### converge plan for ")
    assert "NEXT_PUBLIC_APP_NAME" in bot[0]["body"]
    assert "posted the plan comment" in plan.step(
        "Post the plan as one pull-request comment").stdout

    second = ci.pull_request("feature")  # another push to the same pull request

    assert ran(second)["plan"] == "success", second["plan"].log()
    comments = ci.comments()
    assert [c["id"] for c in comments] == [1, 2, bot[0]["id"]]  # edited, not added
    assert comments[1]["body"].startswith(MARKER + "\nquoting")  # a person's: untouched
    assert f"updated the plan comment ({bot[0]['id']})" in second["plan"].step(
        "Post the plan as one pull-request comment").stdout

    # A pull request that changed an input but not .out/ stops before any plan.
    ci.git("checkout", "-q", "-b", "stale", "main")
    vercel_file.write_text(vercel_file.read_text().replace("value: Web", "value: Stale"))
    ci.git("commit", "-q", "-am", "Forgot to render")
    ci.push("stale")

    stale = ci.pull_request("stale", number=8)

    assert ran(stale)["validation"] == "failure"
    assert ran(stale)["plan"] == "skipped"
    check = stale["validation"].step("Check that the committed .out/ is what the inputs render")
    assert "::error title=converge::.out/ is not what the inputs render" in check.stdout
    ci.git("checkout", "-q", "main")


@pytest.fixture(scope="module")
def applied(ci: CI) -> dict[str, JobResult]:
    """The first push to main: its jobs, after they applied the sample."""
    ci.git("checkout", "-q", "main")
    jobs = ci.runner.run("push", ref="main")
    ci.first_push_artifacts = ci.runner.artifacts
    return jobs


def test_main_applies_commits_out_and_keeps_the_audit_log(
    ci: CI, applied: dict[str, JobResult]
) -> None:
    assert ran(applied) == {"validation": "success", "plan": "skipped",
                            "reconcile": "success", "drift": "skipped"}, applied["reconcile"].log()
    reconcile = applied["reconcile"]
    apply_log = reconcile.step("Apply, then commit .out/").stdout
    assert "Reconciling Vercel environment for project: web" in apply_log
    assert "nothing to commit for web" in apply_log  # .out/ was committed as rendered
    assert "nothing to push" in reconcile.step("Push the commit of .out/").stdout
    assert "chain intact" in reconcile.step("Verify the audit log").stdout
    assert reconcile.step("Show where a failed apply stopped").outcome == "skipped"
    assert ci.first_push_artifacts is not None
    log = ci.first_push_artifacts / "reconciliation-log" / "reconciliation.log"
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["kind"], e["project"], e["command"], e["result"]) for e in entries] == [
        ("run", "web", "apply", "succeeded")
    ]  # the runner's own log: the developer's (git-ignored) is not in the clone
    assert entries[0]["git_revision"] == ci.git("rev-parse", "main").strip()

    # An input change pushed to main without rendering: main renders, applies, and
    # commits .out/ with the brief's message.
    vercel_file = ci.source / "data" / "platforms" / "vercel" / "web.yaml"
    vercel_file.write_text(vercel_file.read_text().replace("value: Web", "value: Web site"))
    ci.git("commit", "-q", "-am", "Rename without rendering")
    ci.push("main")

    second = ci.runner.run("push", ref="main")

    assert ran(second)["reconcile"] == "success", second["reconcile"].log()
    subject = subprocess.run(
        ["git", "--git-dir", str(ci.origin), "log", "-1", "--format=%s", "main"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert re.fullmatch(r"chore: Reconciled web \d{8}-\d{6}", subject), subject
    pushed = subprocess.run(
        ["git", "--git-dir", str(ci.origin), "show", "main:.out/web/vercel-env.json"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert "Web site" in pushed
    ci.git("pull", "-q", "--ff-only", "origin", "main")


def test_after_the_apply_a_fresh_runner_plans_no_change_and_finds_no_drift(
    ci: CI, applied: dict[str, JobResult]
) -> None:
    after = ci.pull_request("main", number=9)
    assert "converge plan: no change" in after["plan"].step("Plan").stdout, after["plan"].log()

    quiet = ci.runner.run("schedule", ref="main")
    assert ran(quiet) == {"validation": "skipped", "plan": "skipped",
                          "reconcile": "skipped", "drift": "success"}, quiet["drift"].log()


def test_the_schedule_fails_on_a_change_made_by_hand_and_summarises_it(
    ci: CI, applied: dict[str, JobResult]
) -> None:
    _change_by_hand(ci, "NEXT_PUBLIC_API_URL", "https://changed.example.com")

    drifted = ci.runner.run("schedule", ref="main")

    assert ran(drifted) == {"validation": "skipped", "plan": "skipped",
                            "reconcile": "skipped", "drift": "failure"}
    look = drifted["drift"].step("Look for drift")
    assert look.returncode == 2, drifted["drift"].log()
    assert "::error title=converge drift::" in look.stdout
    row = next(line for line in drifted["drift"].summary.splitlines()
               if "NEXT_PUBLIC_API_URL" in line)
    assert "https://changed.example.com" in row and "https://api.example.com" in row


def _change_by_hand(ci: CI, key: str, value: str) -> None:
    """Edit a variable in the Vercel dashboard, as a person would (Vercel's API)."""
    team, project = ci.vercel
    headers = {"Authorization": f"Bearer {ci.sandbox_env['VERCEL_TOKEN']}"}
    base = ci.sandbox_env["VERCEL_API_URL"]
    listed = httpx.get(f"{base}/v10/projects/{project}/env", params={"slug": team},
                       headers=headers, timeout=30)
    assert listed.status_code == 200, listed.text
    env_id = next(e["id"] for e in listed.json()["envs"] if e["key"] == key)
    changed = httpx.patch(f"{base}/v9/projects/{project}/env/{env_id}", params={"slug": team},
                          headers=headers, json={"value": value},
                          timeout=30)
    assert changed.status_code == 200, changed.text
