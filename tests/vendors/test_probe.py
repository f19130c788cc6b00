"""The rollout gate's HTTP probe (vendors/probe.py): any status is an answer, redirects
are followed, and no answer says why without raising."""

from __future__ import annotations

import socket

import httpx

from converge.vendors.probe import probe_url


def test_any_status_is_an_answer_and_redirects_are_followed() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/old":
            return httpx.Response(301, headers={"Location": "http://probe.test/health"})
        return httpx.Response(503 if request.url.path == "/health" else 404)

    transport = httpx.MockTransport(answer)
    assert probe_url("http://probe.test/old", transport=transport).status == 503
    assert probe_url("http://probe.test/missing", transport=transport).status == 404


def test_a_refused_connection_is_no_answer_naming_the_failure() -> None:
    with socket.socket() as sock:  # a loopback port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    found = probe_url(f"http://127.0.0.1:{port}/", timeout=2.0)
    assert found.status is None
    assert found.failure == "ConnectError"
