"""converge without the extra ``dashboard``: a plain install carries neither starlette,
Jinja2 nor uvicorn; ``converge dashboard`` says how to add them in one sentence, and
``converge watch --metrics-port`` still serves /metrics and /healthz (the stdlib server).
Only ``converge.dashboard`` may import the web libraries (``.importlinter``).

Subprocesses run with ``blocker/sitecustomize.py`` on PYTHONPATH, which makes the extras'
libraries fail to import as in an install without them.
"""

from __future__ import annotations

import configparser
import importlib.metadata
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from converge.cli import dashboard_loader
from converge.cli.dashboard_loader import load_dashboard
from converge.errors import DashboardNotInstalled
from tests.conftest import REPO
from tests.e2e.conftest import CONVERGE, base_env, copy_workspace
from tests.packaging.blocker.sitecustomize import RefuseSandbox

BLOCKER = Path(__file__).resolve().parent / "blocker"
DASHBOARD_ONLY = {"starlette", "jinja2", "uvicorn"}
INSTALL_SENTENCE = (
    "error: the dashboard is not installed in this environment (no module 'starlette'); "
    "install it with: pip install 'converge[dashboard]'"
)


def test_the_dashboard_libraries_are_an_extra_not_a_requirement() -> None:
    requirements = importlib.metadata.requires("converge") or []
    base = {Requirement(r).name.lower() for r in requirements if Requirement(r).marker is None}
    extra = {
        Requirement(r).name.lower()
        for r in requirements
        if Requirement(r).marker is not None and 'extra == "dashboard"' in r
    }
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]

    assert base & DASHBOARD_ONLY == set()
    assert extra == DASHBOARD_ONLY
    pins = {Requirement(r).name.lower(): str(Requirement(r).specifier)
            for r in project["optional-dependencies"]["dashboard"]}
    sandbox_pins = {Requirement(r).name.lower(): str(Requirement(r).specifier)
                    for r in project["optional-dependencies"]["sandbox"]}
    assert all(spec.startswith("==") for spec in pins.values()), pins
    assert {k: pins[k] for k in pins.keys() & sandbox_pins.keys()} == {
        k: sandbox_pins[k] for k in pins.keys() & sandbox_pins.keys()}  # shared pins agree


def test_only_the_dashboard_package_may_import_the_web_libraries() -> None:
    """The import-linter contract lists every package of converge but the dashboard."""
    config = configparser.ConfigParser()
    config.read(REPO / ".importlinter")
    contract = config["importlinter:contract:web-only-in-dashboard"]
    sources = set(contract["source_modules"].split())
    forbidden = set(contract["forbidden_modules"].split())
    package = REPO / "src" / "converge"
    packages = {p.name for p in package.iterdir() if (p / "__init__.py").exists()}
    modules = {p.stem for p in package.glob("*.py") if p.stem != "__init__"}
    every = {f"converge.{name}" for name in packages | modules}

    assert sources == every - {"converge.dashboard"}
    assert {"starlette", "uvicorn", "jinja2", "converge.dashboard"} <= forbidden


def test_load_dashboard_without_the_libraries_raises_the_install_sentence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "meta_path", [RefuseSandbox(), *sys.meta_path])
    for name in [m for m in sys.modules if m.startswith(("starlette", "converge.dashboard"))]:
        monkeypatch.delitem(sys.modules, name)

    with pytest.raises(DashboardNotInstalled) as raised:
        load_dashboard()

    assert raised.value.exit_code == 1
    assert raised.value.message == INSTALL_SENTENCE.removeprefix("error: ")


def test_a_missing_module_inside_the_dashboard_is_a_bug_not_a_missing_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "converge.dashboard.app", None)
    monkeypatch.delitem(sys.modules, dashboard_loader.DASHBOARD_MODULE, raising=False)

    with pytest.raises(ModuleNotFoundError) as raised:
        load_dashboard()

    assert not isinstance(raised.value, DashboardNotInstalled)
    assert raised.value.name == "converge.dashboard.app"


def test_the_cli_names_the_token_variable_as_the_dashboard_reads_it() -> None:
    from converge.dashboard import access

    assert dashboard_loader.TOKEN_ENV == access.TOKEN_ENV


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_workspace(tmp_path_factory.mktemp("no-dashboard") / "ws")


def test_converge_dashboard_says_how_to_install_it(root: Path) -> None:
    result = subprocess.run(
        [str(CONVERGE), "--workspace", str(root), "dashboard", "--port", "0"],
        env=base_env(PYTHONPATH=str(BLOCKER)), capture_output=True, text=True, timeout=60,
        check=False,
    )

    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [INSTALL_SENTENCE]


def test_converge_dashboard_help_works_without_the_extra(root: Path) -> None:
    result = subprocess.run(
        [str(CONVERGE), "dashboard", "--help"], env=base_env(PYTHONPATH=str(BLOCKER)),
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "CONVERGE_DASHBOARD_TOKEN" in result.stdout


WATCH_PORT = textwrap.dedent("""
    import sys, httpx
    from pathlib import Path
    from converge.config.workspace import open_workspace
    from converge.engine.journal import open_journal
    from converge.cli.dashboard import serve_watch_port
    ws = open_workspace(Path(sys.argv[1]))
    with open_journal(ws.settings.state, ws.root) as journal:
        served, pages = serve_watch_port(ws, journal, port=0, metrics=lambda: b"up 1\\n",
                                         healthy=lambda: True)
        try:
            got = [httpx.get(served.url + p, timeout=10) for p in ("/metrics", "/healthz", "/")]
        finally:
            served.stop()
    print(pages, *[(r.status_code, r.text.strip()) for r in got], sep="|")
""")


def test_watch_serves_metrics_and_healthz_without_the_dashboard(root: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", WATCH_PORT, str(root)], env=base_env(PYTHONPATH=str(BLOCKER)),
        capture_output=True, text=True, timeout=60, check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().split("|") == [
        "False", "(200, 'up 1')", "(200, 'ok')", "(404, 'not found: try /metrics or /healthz')"]
