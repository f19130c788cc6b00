"""The dashboard in a real browser, after the demo: the example workspace applied to a
real sandbox (three emulators over loopback HTTP, a real PostgreSQL), then read by
headless Chromium through Selenium, like the on-call engineer would.

The module's world (shared by its tests, built once):

* the three example projects decided, rendered and applied (``make demo``'s first pass),
  with a canary secret planted in Infisical first (it flows to Supabase's auth config)
  and a client secret minted for journal's Vercel project;
* auth-service rolled out wave by wave (``converge rollout``), so waves and gates show;
* a pending revocation with a due time in the journal (what ``rotate --grace`` leaves).

The browser test then makes a drift out of band through Vercel's API, runs a drift
check, reloads, and sees the drift with its field and age; opens journal's page and
takes screenshots into its output folder. Neither the canary nor the minted client
secret appears in any page (also checked over plain HTTP for every page and route).

``CONVERGE_UPDATE_SCREENSHOT=1`` also writes the overview's screenshot to
docs/dashboard.png (the picture docs/dashboard.md shows).
"""

from __future__ import annotations

import os
import re
import secrets as secrets_module
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families
from selenium import webdriver
from selenium.webdriver.common.by import By

from converge.engine.journal import open_journal
from converge.engine.journal_credentials import due_time
from converge_sandbox.vercel import seed as vercel_seed
from tests.conftest import REPO
from tests.dashboard.conftest import served
from tests.dashboard.test_access import assert_accessible
from tests.e2e.conftest import CONVERGE, E2E, base_env, start_e2e
from tests.e2e.test_secrets_canary import CANARY, plant_canary

pytestmark = pytest.mark.integration

PROJECTS = ("analytics", "auth-service", "journal")
DRIFTED_KEY = "NEXT_PUBLIC_API_URL"
DRIFTED_OBJECT = f"vercel/env/{DRIFTED_KEY}@production"
DOCS_SCREENSHOT = REPO / "docs" / "dashboard.png"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The demo applied, auth-service rolled out, a revocation pending (see above)."""
    e2e = start_e2e(tmp_path_factory.mktemp("dashboard") / "ws", projects=PROJECTS)
    try:
        plant_canary(e2e)
        for project in PROJECTS:
            result = e2e.cli("apply", project)
            assert result.exit_code == 0, result.output
        rolled = e2e.cli("rollout", "auth-service")
        assert rolled.exit_code == 0, rolled.output
        with open_journal(".converge/state.db", e2e.root) as journal:
            run = journal.last_runs("journal", 1)[0]
            journal.credentials.schedule_revocation(
                run.id, project="journal", system="infisical", kind="client-secret",
                parent_id="id-old", parent_name="token-service@journal-prod",
                credential_id="cs-replaced-1", reason="replaced by a rotation (grace 1h)",
                due_at=due_time(3600),
            )
        minted = e2e.vercel_value("journal-web", "INFISICAL_CLIENT_SECRET")
        yield {"e2e": e2e, "secrets": (CANARY, minted)}
    finally:
        e2e.sandbox.stop()


def change_vercel_variable(e2e: E2E, key: str, value: str) -> None:
    """Edit a variable through Vercel's API, as a person in Vercel's dashboard would."""
    [env] = [e for e in e2e.vercel_envs("journal-web") if e["key"] == key]
    response = httpx.patch(
        f"{e2e.sandbox.url('vercel')}/v9/projects/journal-web/env/{env['id']}",
        params={"teamId": vercel_seed.team_id()},
        headers={"Authorization": f"Bearer {e2e.sandbox.world.credentials.vercel_token}"},
        json={"value": value},
        timeout=10,
    )
    assert response.status_code == 200, response.text


def full_page_screenshot(driver: webdriver.Chrome, path: Path) -> None:
    """The whole page: the window grown to the document's height (at most 4000 px)."""
    height, chrome = driver.execute_script(
        "return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight]"
    )
    driver.set_window_size(1280, min(max(int(height) + int(chrome), 600), 4000))
    assert driver.save_screenshot(str(path)), path
    assert path.stat().st_size > 10_000  # a real picture, not an empty frame


def assert_no_secret(html: str, secrets: tuple[str, ...], where: str) -> None:
    for value in secrets:
        assert value not in html, f"a secret value is in {where}"


def test_the_browser_shows_the_projects_a_drift_made_out_of_band_and_a_project_page(
    world: dict[str, Any], chromium: webdriver.Chrome, tmp_path: Path
) -> None:
    e2e: E2E = world["e2e"]
    secrets: tuple[str, ...] = world["secrets"]
    started = time.monotonic()
    with served(e2e.root) as server:
        chromium.get(server.url + "/")
        assert chromium.title == "Projects · converge dashboard"
        rows = chromium.find_elements(By.CSS_SELECTOR, "#projects tbody tr.project-row")
        assert [r.find_element(By.TAG_NAME, "th").text.splitlines()[0] for r in rows] == list(
            PROJECTS
        )
        for row in rows:
            assert "in sync" in row.text, row.text  # status as a word, not a colour
        assert "No drift recorded." in chromium.find_element(By.ID, "drift-heading").find_element(
            By.XPATH, "..").text
        assert_no_secret(chromium.page_source, secrets, "the overview")

        change_vercel_variable(e2e, DRIFTED_KEY, "https://elsewhere.example")
        checked = e2e.cli("drift", "journal")
        assert checked.exit_code == 2, checked.output
        chromium.refresh()

        journal_row = chromium.find_element(By.ID, "project-journal")
        assert "drifted" in journal_row.text and "1 field" in journal_row.text
        [drift] = chromium.find_elements(By.CSS_SELECTOR, "#drift tbody tr")
        cells = [c.text for c in drift.find_elements(By.CSS_SELECTOR, "th, td")]
        assert cells[:4] == ["journal", DRIFTED_OBJECT, "value", "changed"], cells
        assert re.fullmatch(r"\d+ s", cells[4]), cells  # its age
        assert "https://elsewhere.example" not in chromium.page_source  # fields, not values
        overview_png = tmp_path / "dashboard-overview.png"
        full_page_screenshot(chromium, overview_png)
        assert_no_secret(chromium.page_source, secrets, "the overview after the drift")

        chromium.find_element(By.LINK_TEXT, "journal").click()
        assert chromium.current_url == server.url + "/projects/journal"
        heading = chromium.find_element(By.TAG_NAME, "h1").text
        assert heading.startswith("journal") and "drifted" in heading
        runs = chromium.find_elements(By.CSS_SELECTOR, "#runs tbody tr")
        assert runs and "apply" in runs[0].text and "succeeded" in runs[0].text
        plan = chromium.find_element(By.ID, "plan-heading").find_element(By.XPATH, "..").text
        assert "Planned and applied by converge apply" in plan
        pending = chromium.find_element(By.ID, "revocations-heading").find_element(
            By.XPATH, "..").text
        assert "cs-replaced-1" in pending and re.search(r"in (59 min|1 h)", pending), pending
        full_page_screenshot(chromium, tmp_path / "dashboard-journal.png")
        assert_no_secret(chromium.page_source, secrets, "journal's page")

        chromium.find_element(By.LINK_TEXT, "Projects").click()
        chromium.find_element(By.LINK_TEXT, "auth-service").click()
        waves = chromium.find_elements(By.CSS_SELECTOR, "table.waves tbody tr")
        assert [w.find_element(By.TAG_NAME, "th").text for w in waves] == ["1", "2"]
        assert all("applied" in w.text and "passed" in w.text for w in waves), [
            w.text for w in waves]
        assert_no_secret(chromium.page_source, secrets, "auth-service's page")
    elapsed = time.monotonic() - started
    if os.environ.get("CONVERGE_UPDATE_SCREENSHOT") == "1":
        DOCS_SCREENSHOT.write_bytes(overview_png.read_bytes())
    assert elapsed < 20, f"the browser test took {elapsed:.1f} s"


def test_no_page_or_route_shows_a_secret_value(world: dict[str, Any]) -> None:
    e2e: E2E = world["e2e"]
    # A third canary: the sensitive variable holding the client secret replaced by hand,
    # then planned and checked for drift (both kept in the journal for the pages).
    replaced = "canary-" + secrets_module.token_hex(16)
    change_vercel_variable(e2e, "INFISICAL_CLIENT_SECRET", replaced)
    assert e2e.cli("plan", "journal").exit_code == 2
    assert e2e.cli("drift", "journal").exit_code == 2
    assert e2e.vercel_value("journal-web", "INFISICAL_CLIENT_SECRET") == replaced
    secrets: tuple[str, ...] = (*world["secrets"], replaced)
    paths = ["/", "/?refresh=off", "/dashboard.css", "/nowhere", "/projects/nobody"]
    paths += [f"/projects/{p}" for p in PROJECTS]
    with served(e2e.root) as server:
        pages = {path: httpx.get(server.url + path, timeout=10) for path in paths}
    assert {p: r.status_code for p, r in pages.items()} == {
        **{p: 200 for p in paths}, "/nowhere": 404, "/projects/nobody": 404,
    }
    for path, response in pages.items():
        assert_no_secret(response.text, secrets, path)
        if response.status_code == 200 and path != "/dashboard.css":
            assert_accessible(response.text)  # the pages with every panel filled
    # Positive controls: the canary did reach a vendor, and the pages are the real ones.
    auth = e2e.sandbox.world.store.get("supabase", "auth_config", "journalprodqzvtkwmrx")
    assert auth is not None and auth["external_github_secret"] == CANARY
    # ...and journal's page shows the replaced variable, its drifted field and its planned
    # change, masked where the value would be
    page = pages["/projects/journal"].text
    assert "<code>vercel/env/INFISICAL_CLIENT_SECRET@production</code>" in page
    assert re.search(r"<code>INFISICAL_CLIENT_SECRET[^<]*</code></th>\s*<td>\s*<ul class=\"diffs\">"
                     r"\s*<li><code>value</code>: \(sensitive\) → \(sensitive\)</li>", page), page
    assert len(secrets[1]) >= 16


def test_watch_serves_the_pages_beside_metrics_and_healthz(world: dict[str, Any]) -> None:
    e2e: E2E = world["e2e"]
    proc = subprocess.Popen(
        [str(CONVERGE), "--workspace", str(e2e.root), "watch", "journal", "--interval", "1h",
         "--metrics-port", "0"],
        env=base_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.match(
            r"serving metrics on (http://127\.0\.0\.1:\d+)/metrics and \1/healthz, "
            r"the dashboard on \1/$", line.strip())
        assert match, line
        url = match.group(1)
        overview = httpx.get(url + "/", timeout=10)
        project = httpx.get(url + "/projects/journal", timeout=10)
        metrics = httpx.get(url + "/metrics", timeout=10)
        health = httpx.get(url + "/healthz", timeout=10)
        posted = httpx.post(url + "/metrics", timeout=10)
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert overview.status_code == 200 and 'id="project-journal"' in overview.text
    assert project.status_code == 200 and "<h1>journal" in project.text
    assert metrics.status_code == 200
    assert metrics.headers["content-type"] == CONTENT_TYPE_LATEST
    assert list(text_string_to_metric_families(metrics.text))
    assert (health.status_code, health.text) == (200, "ok\n")
    assert posted.status_code == 405
    for response in (overview, project, metrics):
        assert_no_secret(response.text, world["secrets"], str(response.url))
