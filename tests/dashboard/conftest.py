"""Fixtures for the dashboard tests: a dashboard served over loopback from a workspace,
and a real headless Chromium driven by Selenium.

Chromium and its driver are Debian's packages (``chromium``, ``chromium-driver``;
``.ci/run`` installs them). Without them the browser tests are skipped with the install
line, except under CI (``CI=true``), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from converge.config.workspace import open_workspace
from converge.dashboard.facade import serve_dashboard
from converge.dashboard.server import ServedApp
from converge.engine.journal import open_journal
from tests.e2e.conftest import e2e  # noqa: F401  (the sandbox fixture, for these modules too)

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
WINDOW = (1280, 900)


@contextmanager
def served(
    root: Path, *, token: str | None = None, bind: str = "127.0.0.1", refresh: int = 30
) -> Iterator[ServedApp]:
    """``converge dashboard`` of the workspace at ``root`` on a free port, in-process."""
    workspace = open_workspace(root)
    with open_journal(workspace.settings.state, workspace.root) as journal:
        server = serve_dashboard(
            workspace, journal, bind=bind, port=0, token=token, refresh=refresh
        )
        try:
            yield server
        finally:
            server.stop()


def _browser_missing() -> str | None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if not missing:
        return None
    return f"{', '.join(missing)} missing: apt-get install -y chromium chromium-driver"


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    """A fresh headless Chromium (its own --user-data-dir) for the test module."""
    why = _browser_missing()
    if why is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)

    profile = tmp_path_factory.mktemp("chromium-profile")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={WINDOW[0]},{WINDOW[1]}")
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
