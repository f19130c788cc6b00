"""A small local stand-in for a GitHub Actions runner, enough to run the workflow that
``converge init`` writes, job by job, for one event.

What it does as GitHub does:
- jobs run in ``needs`` order when their ``if`` holds; a job whose needed job did not
  succeed is skipped; each job gets a fresh ``git clone`` of the repository at the
  event's ref (its ``actions/checkout``), its own ``RUNNER_TEMP`` and
  ``GITHUB_STEP_SUMMARY`` file, and the default variables (``CI``, ``GITHUB_SHA``, …);
- ``env`` of the workflow, the job and the step, with their ``${{ … }}`` expressions
  (``secrets``, ``github``, ``env``) filled in; a secret that is not set is empty;
- steps with ``if`` (``success()``, ``failure()``, ``always()``, ``==``, ``!=``, ``&&``,
  ``||``, ``!``) and ``run:`` scripts as ``bash --noprofile --norc -eo pipefail``;
- ``actions/upload-artifact`` and ``actions/download-artifact`` copy through a folder that
  outlives the jobs of one run (hidden files only with ``include-hidden-files``).

Documented substitutions (the only departures):
- ``actions/setup-python`` does nothing: ``python`` and ``converge`` are the test
  environment's, first on PATH;
- a step with ``id: install-converge`` is not run: it must be exactly
  ``python -m pip install "$CONVERGE_PIP_SPEC"`` with that variable set, and stands for
  installing this checkout (already installed in the test environment);
- steps that call GitHub's API run against ``gh``, a shim (``gh_shim.py``) first on PATH
  that keeps a pull request's comments in a JSON file.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

INSTALL_STEP_ID = "install-converge"
INSTALL_SCRIPT = 'python -m pip install "$CONVERGE_PIP_SPEC"'

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<op>==|!=|&&|\|\||!|\(|\))"
    r"|(?P<call>[A-Za-z_][\w-]*)\(\)|(?P<num>\d+)|(?P<path>[A-Za-z_][\w.-]*))"
)
_INTERPOLATION = re.compile(r"\$\{\{(.*?)\}\}")


def _lookup(contexts: Mapping[str, Any], path: str) -> Any:
    value: Any = contexts
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def evaluate(expression: str, contexts: Mapping[str, Any], *, job_status: str = "success") -> Any:
    """The value of a GitHub expression (the subset the workflow uses), turned into Python
    tokens one by one; anything else raises."""
    expression = expression.strip()
    if expression.startswith("${{") and expression.endswith("}}"):
        expression = expression[3:-2]
    functions = {
        "success": job_status == "success",
        "failure": job_status == "failure",
        "always": True,
        "cancelled": False,
    }
    values: dict[str, Any] = {}
    python: list[str] = []
    position = 0
    while position < len(expression.rstrip()):
        match = _TOKEN.match(expression, position)
        if match is None:
            raise ValueError(f"cannot read {expression!r} at {position}")
        position = match.end()
        name = f"v{len(values)}"
        if match["str"] is not None:
            values[name] = match["str"][1:-1].replace("''", "'")
        elif match["op"] is not None:
            python.append({"&&": " and ", "||": " or ", "!": " not "}.get(match["op"], match["op"]))
            continue
        elif match["call"] is not None:
            values[name] = functions[match["call"]]
        elif match["num"] is not None:
            values[name] = int(match["num"])
        else:
            values[name] = _lookup(contexts, match["path"])
        python.append(name)
    return eval("".join(python), {"__builtins__": {}}, values)  # noqa: S307 - our tokens only


def interpolate(text: str, contexts: Mapping[str, Any]) -> str:
    def one(match: re.Match[str]) -> str:
        value = evaluate(match[1], contexts)
        return "" if value is None else str(value)

    return _INTERPOLATION.sub(one, text)


@dataclass
class StepResult:
    name: str
    outcome: str  # success | failure | skipped | substituted
    returncode: int = 0
    stdout: str = ""
    stderr: str = ""


@dataclass
class JobResult:
    name: str
    status: str  # success | failure | skipped
    steps: list[StepResult] = field(default_factory=list)
    summary: str = ""
    checkout: Path | None = None

    def step(self, name: str) -> StepResult:
        return next(s for s in self.steps if s.name == name)

    def log(self) -> str:
        return "\n".join(
            f"--- {s.name}: {s.outcome} ({s.returncode})\n{s.stdout}{s.stderr}" for s in self.steps
        )


@dataclass
class Runner:
    """Runs a workflow document for events against a bare repository."""

    workflow: Mapping[str, Any]
    origin: Path  # a bare repository: the "GitHub" remote
    root: Path  # where runs keep their checkouts, temp folders and artifacts
    secrets: Mapping[str, str]
    ambient: Mapping[str, str]  # the runner machine's environment
    repository: str = "acme/infra"
    timeout: float = 300
    runs: int = 0
    artifacts: Path | None = None  # the artifact store of the newest run

    def run(
        self, event: str, *, ref: str, event_payload: Mapping[str, Any] | None = None
    ) -> dict[str, JobResult]:
        """Every job of the workflow for ``event`` at ``ref`` (a branch of origin)."""
        self.runs += 1
        run_dir = self.root / f"run-{self.runs}"
        artifacts = run_dir / "artifacts"
        artifacts.mkdir(parents=True)
        self.artifacts = artifacts
        sha = subprocess.run(
            ["git", "--git-dir", str(self.origin), "rev-parse", ref],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        git_ref = f"refs/heads/{ref}" if event != "pull_request" else "refs/pull/7/merge"
        github = {
            "event_name": event,
            "ref": git_ref,
            "ref_name": ref if event != "pull_request" else "7/merge",
            "sha": sha,
            "repository": self.repository,
            "workflow": self.workflow.get("name", ""),
            "token": "ghs_runner_token",
            "event": dict(event_payload or {}),
        }
        results: dict[str, JobResult] = {}
        for name in self._ordered_jobs():
            job = self.workflow["jobs"][name]
            needs = job.get("needs", [])
            needs = [needs] if isinstance(needs, str) else list(needs)
            contexts = {"github": github, "secrets": dict(self.secrets),
                        "env": dict(self.workflow.get("env", {}))}
            condition = job.get("if", "success()")
            needed_ok = all(results[n].status == "success" for n in needs)
            if not needed_ok or not evaluate(condition, contexts):
                results[name] = JobResult(name, "skipped")
                continue
            results[name] = self._run_job(name, job, run_dir / name, artifacts, github, ref)
        return results

    def _ordered_jobs(self) -> list[str]:
        jobs = self.workflow["jobs"]
        ordered: list[str] = []
        while len(ordered) < len(jobs):
            for name, job in jobs.items():
                needs = job.get("needs", [])
                needs = [needs] if isinstance(needs, str) else list(needs)
                if name not in ordered and all(n in ordered for n in needs):
                    ordered.append(name)
        return ordered

    def _run_job(
        self, name: str, job: Mapping[str, Any], job_dir: Path, artifacts: Path,
        github: Mapping[str, Any], ref: str,
    ) -> JobResult:
        checkout = job_dir / "work"
        temp = job_dir / "temp"
        temp.mkdir(parents=True)
        subprocess.run(["git", "clone", "-q", "--branch", ref, str(self.origin), str(checkout)],
                       check=True, capture_output=True)
        summary = temp / "step_summary.md"
        summary.touch()
        defaults = {
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(checkout),
            "GITHUB_SHA": str(github["sha"]),
            "GITHUB_REF": str(github["ref"]),
            "GITHUB_REF_NAME": str(github["ref_name"]),
            "GITHUB_EVENT_NAME": str(github["event_name"]),
            "GITHUB_REPOSITORY": self.repository,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_RUN_ID": str(self.runs),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_OUTPUT": str(temp / "output"),
            "GITHUB_ENV": str(temp / "env"),
            "RUNNER_TEMP": str(temp),
        }
        result = JobResult(name, "success", checkout=checkout)
        env_context = {**self.workflow.get("env", {})}
        for index, step in enumerate(job["steps"]):
            step_name = step.get("name") or step.get("uses") or f"step {index}"
            contexts = {"github": github, "secrets": dict(self.secrets), "env": env_context}
            if not evaluate(step.get("if", "success()"), contexts, job_status=result.status):
                result.steps.append(StepResult(step_name, "skipped"))
                continue
            env = {**self.ambient, **defaults}
            for scope in (self.workflow.get("env", {}), job.get("env", {}), step.get("env", {})):
                env.update({k: interpolate(str(v), contexts) for k, v in scope.items()})
            outcome = self._step(step, step_name, env, checkout, artifacts, temp)
            result.steps.append(outcome)
            if outcome.outcome == "failure":
                result.status = "failure"
        result.summary = summary.read_text()
        return result

    def _step(
        self, step: Mapping[str, Any], name: str, env: dict[str, str], checkout: Path,
        artifacts: Path, temp: Path,
    ) -> StepResult:
        if "uses" in step:
            return self._action(step, name, checkout, artifacts)
        script = str(step["run"])
        if step.get("id") == INSTALL_STEP_ID:
            assert script.strip() == INSTALL_SCRIPT, script
            assert env.get("CONVERGE_PIP_SPEC"), "CONVERGE_PIP_SPEC is not set"
            return StepResult(name, "substituted")
        script_file = temp / f"step-{len(list(temp.glob('step-*')))}.sh"
        script_file.write_text(script)
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_file)],
            cwd=checkout, env=env, capture_output=True, text=True, timeout=self.timeout,
            check=False,
        )
        outcome = "success" if done.returncode == 0 else "failure"
        return StepResult(name, outcome, done.returncode, done.stdout, done.stderr)

    def _action(
        self, step: Mapping[str, Any], name: str, checkout: Path, artifacts: Path
    ) -> StepResult:
        action = str(step["uses"]).split("@", 1)[0]
        inputs = step.get("with", {})
        if action in ("actions/checkout", "actions/setup-python"):
            return StepResult(name, "success")  # the clone is the checkout; python is ours
        if action == "actions/upload-artifact":
            return _upload(name, checkout, artifacts, inputs)
        if action == "actions/download-artifact":
            source = artifacts / str(inputs["name"])
            if not source.is_dir():
                return StepResult(name, "failure", 1, "", f"no artifact {inputs['name']}")
            shutil.copytree(source, checkout / str(inputs.get("path", ".")), dirs_exist_ok=True)
            return StepResult(name, "success")
        raise AssertionError(f"the local runner does not know the action {action}")


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _upload(
    name: str, checkout: Path, artifacts: Path, inputs: Mapping[str, Any]
) -> StepResult:
    """As upload-artifact v4+: a folder's files relative to it, a file by its name; hidden
    files (or files in hidden folders) only with include-hidden-files."""
    source = checkout / str(inputs["path"])
    target = artifacts / str(inputs["name"])
    if target.exists():
        return StepResult(name, "failure", 1, "", f"artifact {inputs['name']} exists")
    hidden_ok = bool(inputs.get("include-hidden-files", False))
    files: list[tuple[Path, Path]] = []
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            relative = path.relative_to(source)
            in_hidden = _hidden(path.relative_to(checkout))
            if path.is_file() and (hidden_ok or not in_hidden):
                files.append((path, relative))
    elif source.is_file() and (hidden_ok or not _hidden(source.relative_to(checkout))):
        files.append((source, Path(source.name)))
    if not files:
        missing = inputs.get("if-no-files-found", "warn")
        outcome = "failure" if missing == "error" else "success"
        return StepResult(name, outcome, int(outcome == "failure"), "", f"no files at {source}")
    for path, relative in files:
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target / relative)
    return StepResult(name, "success", 0, f"uploaded {len(files)} files", "")


def ambient_environment(bin_dirs: list[Path], home: Path, **extra: str) -> dict[str, str]:
    """A runner's own environment: PATH (``bin_dirs`` first), HOME, locale, and ``extra``;
    nothing of the test process's converge or vendor variables."""
    env = {
        "PATH": os.pathsep.join([*map(str, bin_dirs), os.environ.get("PATH", os.defpath)]),
        "HOME": str(home),
        "LANG": "C.UTF-8",
    }
    if "TMPDIR" in os.environ:
        env["TMPDIR"] = os.environ["TMPDIR"]
    env.update(extra)
    return env
