"""Who may read the dashboard and what a request may do, over real loopback HTTP: the
token rule for binds beyond loopback, the bearer header and the login cookie, read-only
methods, security headers, auto-refresh, and pages a screen reader can walk (landmarks,
captions, header scopes, labels). The workspace is the example, never applied."""

from __future__ import annotations

import re
import signal
import subprocess
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from converge.config.workspace import open_workspace
from converge.dashboard.access import COOKIE, is_loopback, required_token, session_value
from converge.dashboard.app import create_app
from converge.dashboard.facade import serve_dashboard
from converge.dashboard.server import ServedApp, serve
from converge.engine.journal import open_journal
from converge.errors import DashboardError, JournalError
from converge.ops.overview import Overview, ProjectPage
from tests.dashboard.conftest import served
from tests.e2e.conftest import CONVERGE, base_env
from tests.support.workspace import copy_example_workspace

TOKEN = "dashboard-token-5b0c8e1f-test"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_example_workspace(tmp_path_factory.mktemp("access") / "ws")


@pytest.fixture(scope="module")
def guarded(root: Path) -> Iterator[ServedApp]:
    with served(root, token=TOKEN) as server:
        yield server


@pytest.fixture(scope="module")
def open_server(root: Path) -> Iterator[ServedApp]:
    with served(root, refresh=7) as server:
        yield server


# -- the token rule ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bind", "loopback"),
    [("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True),
     ("localhost", True), ("0.0.0.0", False), ("::", False), ("192.168.1.20", False),
     ("dashboard.internal", False)],
)
def test_only_loopback_addresses_count_as_loopback(bind: str, loopback: bool) -> None:
    assert is_loopback(bind) is loopback


def test_a_bind_beyond_loopback_needs_a_token_and_refuses_to_start_without(root: Path) -> None:
    workspace = open_workspace(root)
    with open_journal(workspace.settings.state, workspace.root) as journal, pytest.raises(
        DashboardError
    ) as refused:
        serve_dashboard(workspace, journal, bind="0.0.0.0", port=0, token=None, refresh=30)
    assert refused.value.message.startswith("refusing to serve the dashboard on 0.0.0.0")
    assert "CONVERGE_DASHBOARD_TOKEN" in refused.value.message
    assert required_token("127.0.0.1", None) is None
    assert required_token("127.0.0.1", "") is None
    assert required_token("0.0.0.0", TOKEN) == TOKEN


@pytest.mark.parametrize(
    "token", ["short-token", "sixteen chars with spaces", "tab\tin-the-token!!"]
)
def test_a_weak_token_is_refused(token: str) -> None:
    with pytest.raises(DashboardError, match="at least 16 printable characters"):
        required_token("0.0.0.0", token)


def test_beyond_loopback_with_a_token_every_request_must_present_it(root: Path) -> None:
    with served(root, token=TOKEN, bind="0.0.0.0") as server:
        port = server.port
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(base + "/", timeout=10).status_code == 401
        assert httpx.get(base + "/", headers={"Authorization": f"Bearer {TOKEN}"},
                         timeout=10).status_code == 200


# -- the token: bearer header and login cookie --------------------------------------------------


def test_without_the_token_every_page_is_401_with_a_login_form(guarded: ServedApp) -> None:
    for path in ("/", "/projects/journal", "/dashboard.css", "/nowhere"):
        response = httpx.get(guarded.url + path, timeout=10)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == 'Bearer realm="converge dashboard"'
    page = httpx.get(guarded.url + "/", timeout=10).text
    assert '<label for="token">Dashboard token</label>' in page
    assert '<input id="token" name="token" type="password"' in page
    assert 'method="get"' in page and "<script" not in page
    for name in ("analytics", "auth-service", "/projects/"):  # nothing of the workspace
        assert name not in page


def test_a_bearer_header_with_the_token_reads_and_a_wrong_one_does_not(guarded: ServedApp) -> None:
    ok = httpx.get(guarded.url + "/", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    wrong = httpx.get(guarded.url + "/", headers={"Authorization": f"Bearer {TOKEN}x"},
                      timeout=10)
    basic = httpx.get(guarded.url + "/", headers={"Authorization": f"Basic {TOKEN}"}, timeout=10)
    assert (ok.status_code, wrong.status_code, basic.status_code) == (200, 401, 401)
    assert "journal" in ok.text


def test_a_token_login_sets_a_cookie_and_drops_the_token_from_the_address(
    guarded: ServedApp,
) -> None:
    with httpx.Client(base_url=guarded.url, timeout=10) as browser:
        wrong = browser.get("/projects/journal", params={"token": "not-" + TOKEN})
        assert wrong.status_code == 401 and COOKIE not in browser.cookies

        login = browser.get("/projects/journal", params={"token": TOKEN, "refresh": "off"})
        assert login.status_code == 303
        assert login.headers["location"] == "/projects/journal?refresh=off"
        cookie = login.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}={session_value(TOKEN)};")
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
        assert TOKEN not in cookie  # an HMAC of the token, not the token

        page = browser.get("/projects/journal", params={"refresh": "off"})
        assert page.status_code == 200 and "<h1>journal" in page.text
    forged = httpx.get(guarded.url + "/", cookies={COOKIE: session_value(TOKEN + "x")},
                       timeout=10)
    assert forged.status_code == 401


# -- read-only, headers ------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
@pytest.mark.parametrize("path", ["/", "/projects/journal", "/nowhere"])
def test_only_get_and_head_are_answered(open_server: ServedApp, method: str, path: str) -> None:
    response = httpx.request(method, open_server.url + path, timeout=10)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


def test_head_answers_without_a_body(open_server: ServedApp) -> None:
    response = httpx.head(open_server.url + "/", timeout=10)
    assert response.status_code == 200 and response.content == b""


@pytest.mark.parametrize("path", ["/", "/projects/journal", "/dashboard.css", "/nowhere"])
def test_every_answer_forbids_scripts_framing_sniffing_and_caching(
    open_server: ServedApp, path: str
) -> None:
    headers = httpx.get(open_server.url + path, timeout=10).headers
    assert headers["content-security-policy"].startswith("default-src 'none'; style-src 'self'")
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert "server" not in headers


def test_a_journal_that_cannot_be_read_is_a_503_naming_the_reason(root: Path) -> None:
    class Broken:
        def overview(self) -> Overview:
            raise JournalError("the run journal at db.example/converge failed (OperationalError)")

        def project(self, name: str) -> ProjectPage | None:
            raise JournalError("the run journal at db.example/converge failed (OperationalError)")

    server = serve(create_app(Broken()), "127.0.0.1", 0)
    try:
        for path in ("/", "/projects/journal"):
            response = httpx.get(server.url + path, timeout=10)
            assert response.status_code == 503
            assert "the run journal at db.example/converge failed" in response.text
    finally:
        server.stop()


# -- auto-refresh -------------------------------------------------------------------------------


def test_pages_refresh_themselves_unless_paused(root: Path, open_server: ServedApp) -> None:
    page = httpx.get(open_server.url + "/", timeout=10).text
    assert '<meta http-equiv="refresh" content="7">' in page
    assert '<a href="?refresh=off">Pause auto-refresh</a>' in page

    paused = httpx.get(open_server.url + "/", params={"refresh": "off"}, timeout=10).text
    assert 'http-equiv="refresh"' not in paused
    assert "Resume auto-refresh" in paused
    assert 'href="/projects/journal?refresh=off"' in paused  # links keep the pause

    with served(root, refresh=0) as never:
        off = httpx.get(never.url + "/", timeout=10).text
    assert 'http-equiv="refresh"' not in off and "Auto-refresh is off." in off


# -- accessibility --------------------------------------------------------------------------------


class Outline(HTMLParser):
    """What an accessibility check needs of a page: landmarks, tables, headers, labels."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None], tuple[str, ...]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs), tuple(self.stack)))
        if tag not in ("meta", "link", "br", "input", "img"):
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop() == tag:
                break

    def of(self, tag: str) -> list[tuple[dict[str, str | None], tuple[str, ...]]]:
        return [(attrs, within) for name, attrs, within in self.tags if name == tag]


def assert_accessible(html: str) -> None:
    """Landmarks, a skip link, captions on every table, header cells with their scope,
    sections named by their heading, no script, and status as a word (the symbol beside
    it is hidden from screen readers; colour is never the only sign)."""
    outline = Outline()
    outline.feed(html)

    assert re.search(r'<html lang="en">', html)
    assert [a.get("id") for a, _ in outline.of("main")] == ["main"]
    assert outline.of("header") and outline.of("footer") and outline.of("h1")
    assert outline.of("a")[0][0] == {"class": "skip", "href": "#main"}
    assert not outline.of("script")
    for attrs, within in outline.of("th"):
        expected = "col" if "thead" in within else "row"
        assert attrs.get("scope") == expected, (attrs, within)
    assert len(outline.of("caption")) == len(outline.of("table"))
    for attrs, _ in outline.of("section"):
        heading = attrs.get("aria-labelledby")
        assert heading and f'id="{heading}"' in html
    badges = html.count('<span class="status ')
    worded = re.findall(
        r'<span class="status status-[a-z]+"><span class="symbol" aria-hidden="true">.</span> '
        r"[a-z][a-z ]+</span>", html)
    assert badges == len(worded) > 0


@pytest.mark.parametrize("path", ["/", "/projects/journal", "/projects/auth-service"])
def test_pages_have_landmarks_captions_header_scopes_and_no_script(
    open_server: ServedApp, path: str
) -> None:
    assert_accessible(httpx.get(open_server.url + path, timeout=10).text)


# -- the command --------------------------------------------------------------------------------


def _start(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(CONVERGE), "--workspace", str(root), "dashboard", *args],
        env=base_env(**(env or {})), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _stop(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out, err


def test_converge_dashboard_serves_until_sigterm(root: Path) -> None:
    proc = _start(root, "--port", "0", "--refresh", "5")
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.match(r"serving the dashboard on (http://127\.0\.0\.1:\d+)/; Ctrl-C stops it",
                         line)
        assert match, line
        page = httpx.get(match.group(1) + "/", timeout=10)
        assert page.status_code == 200 and 'content="5"' in page.text
    finally:
        code, out, err = _stop(proc)
    assert (code, out.strip(), err) == (0, "stopped", "")


def test_converge_dashboard_refuses_a_network_bind_without_a_token(root: Path) -> None:
    result = subprocess.run(
        [str(CONVERGE), "--workspace", str(root), "dashboard", "--bind", "0.0.0.0", "--port",
         "0"], env=base_env(), capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0] == (
        "error: refusing to serve the dashboard on 0.0.0.0 without a token: an address beyond "
        "loopback needs --token or CONVERGE_DASHBOARD_TOKEN")
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_converge_dashboard_takes_its_token_from_the_environment(root: Path) -> None:
    proc = _start(root, "--port", "0", env={"CONVERGE_DASHBOARD_TOKEN": TOKEN})
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "(token required)" in line and TOKEN not in line
        url = line.split(" on ", 1)[1].split("/;", 1)[0].split("/ (", 1)[0]
        assert httpx.get(url + "/", timeout=10).status_code == 401
        assert httpx.get(url + "/", headers={"Authorization": f"Bearer {TOKEN}"},
                         timeout=10).status_code == 200
    finally:
        code, _, err = _stop(proc)
    assert code == 0 and TOKEN not in err


def test_a_taken_port_is_one_sentence_naming_the_option(root: Path) -> None:
    with served(root) as first:
        result = subprocess.run(
            [str(CONVERGE), "--workspace", str(root), "dashboard", "--port", str(first.port)],
            env=base_env(), capture_output=True, text=True, timeout=60, check=False,
        )
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        f"error: cannot serve the dashboard on 127.0.0.1:{first.port} (Address already in use)")
    assert "choose another --port" in result.stderr and "Traceback" not in result.stderr
