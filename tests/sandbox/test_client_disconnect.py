"""A client killed mid-request leaves no traceback in the sandbox's log (issue 8, item 12).

The client is a real process that sends a request's headers and half its body to the
Vercel emulator over loopback, then is SIGKILLed; the emulator, waiting for the rest of
the body, sees the connection go. The sandbox's log (its stderr, where uvicorn writes) must
hold no traceback, the request log records the request as 499, and nothing is created.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from converge_sandbox.runner import start_sandbox
from converge_sandbox.vercel import seed as vercel_seed

PROJECT = vercel_seed.project_id("journal-web")


def _half_sent_post(port: int, token: str) -> str:
    """A Python client that announces 1000 body bytes, sends 9 and waits to be killed."""
    head = (
        f"POST /v10/projects/{PROJECT}/env?teamId={vercel_seed.team_id()} HTTP/1.1\r\n"
        f"Host: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
        '{"key": "'
    )
    return textwrap.dedent(f"""
        import socket, sys, time
        sock = socket.create_connection(("127.0.0.1", {port}))
        sock.sendall({head.encode()!r})
        print("sent", flush=True)
        time.sleep(60)
    """)


def test_a_killed_client_leaves_no_traceback_in_the_sandbox_log(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with start_sandbox(tmp_path, faults="", rate_limits="", start_database=None,
                       record=False) as sandbox:
        sandbox.wait_seeded()
        token = sandbox.world.credentials.vercel_token
        client = subprocess.Popen(
            [sys.executable, "-c", _half_sent_post(sandbox.servers.ports["vercel"], token)],
            stdout=subprocess.PIPE, text=True,
        )
        assert client.stdout is not None and client.stdout.readline().strip() == "sent"
        time.sleep(0.2)  # the emulator is now waiting for the rest of the body
        client.kill()
        client.wait(10)
        deadline = time.monotonic() + 5
        while not sandbox.request_log.entries("vercel") and time.monotonic() < deadline:
            time.sleep(0.02)
        entries = sandbox.request_log.entries("vercel")
        stored = sandbox.world.store.list("vercel", "env", prefix=f"{PROJECT}/")

    err = capfd.readouterr().err
    assert "Traceback" not in err and "ClientDisconnect" not in err
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING]
    gone = [r.getMessage() for r in caplog.records if "went away" in r.getMessage()]
    assert len(gone) == 1 and "vercel POST" in gone[0]
    assert [(e.method, e.status) for e in entries] == [("POST", 499)]
    assert stored == []
