"""The command-line contract (DESIGN §5) over a real sandbox: plan's exit codes and output
forms, exit 3 while another run holds the project's lock, exit 4 on refused credentials."""

from __future__ import annotations

import json
import os

import pytest

from converge.engine.journal import open_journal
from converge.engine.locks import acquire_lock
from tests.e2e.conftest import E2E

pytestmark = pytest.mark.integration

WRONG_TOKEN = "wrong-token-5f1c9e0d"


def test_plan_exits_2_with_changes_and_0_once_applied(e2e: E2E) -> None:
    before = e2e.cli("plan", "journal")
    applied = e2e.cli("apply", "journal")
    after = e2e.cli("plan", "journal")

    assert before.exit_code == 2, before.output
    assert applied.exit_code == 0, applied.output
    assert after.exit_code == 0, after.output
    assert "No changes. Infrastructure matches the rendered artifacts." in after.stdout


def test_plan_json_has_format_version_1_and_markdown_renders_the_changes_as_a_table(
    e2e: E2E,
) -> None:
    # Make sure Vercel differs, whatever ran before: remove one variable out of band.
    for record in e2e.vercel_envs("journal-web"):
        if record["key"] == "NEXT_PUBLIC_APP_NAME":
            e2e.vercel_delete_env("journal-web", str(record["id"]))

    as_json = e2e.cli("plan", "journal", "--system", "vercel", "--output", "json")
    as_markdown = e2e.cli("plan", "journal", "--system", "vercel", "--output", "markdown")

    assert as_json.exit_code == 2, as_json.output
    document = json.loads(as_json.stdout)
    assert document["format_version"] == 1
    assert [p["project"] for p in document["plans"]] == ["journal"]
    assert [s["system"] for s in document["plans"][0]["systems"]] == ["vercel"]
    assert as_markdown.exit_code == 2, as_markdown.output
    lines = as_markdown.stdout.splitlines()
    assert "### converge plan: `journal`" in lines
    assert "| | kind | object | changes |" in lines
    assert "|---|---|---|---|" in lines
    assert any(line.startswith("| create | env | `NEXT_PUBLIC_APP_NAME") for line in lines)


def test_apply_exits_3_naming_the_holder_while_another_run_holds_the_lock(e2e: E2E) -> None:
    journal = open_journal(".converge/state.db", e2e.root)
    try:
        with acquire_lock(journal, "journal", command="apply", actor="e2e-holder"):
            blocked = e2e.converge("apply", "journal")
    finally:
        journal.close()

    assert blocked.returncode == 3, blocked.stdout + blocked.stderr
    assert f"pid {os.getpid()}" in blocked.stderr
    assert "journal" in blocked.stderr
    assert "Applying" not in blocked.stdout


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_refused_credentials_exit_4_naming_the_variable_without_any_token(
    e2e: E2E, command: str
) -> None:
    env = e2e.live_env(VERCEL_TOKEN=WRONG_TOKEN)

    result = e2e.cli(command, "journal", "--system", "vercel", "--target", "live", env=env)

    assert result.exit_code == 4, result.output
    assert "VERCEL_TOKEN" in result.stderr
    for token in (WRONG_TOKEN, *(v for k, v in e2e.env.items() if not k.endswith("_URL"))):
        assert token not in result.output


@pytest.mark.parametrize(
    ("override", "sentence"),
    [
        ({"VERCEL_API_URL": "http://api.vercel.example"},
         "VERCEL_API_URL uses plain http to a non-loopback host (api.vercel.example); use https"),
        ({"VERCEL_TOKEN": "tok-first-line\ntok-second-line"},
         "VERCEL_TOKEN contains a newline; a token is one line of printable text"),
    ],
    ids=["plain-http", "newline-in-token"],
)
def test_an_unsafe_transport_or_token_exits_4_before_any_request(
    e2e: E2E, override: dict[str, str], sentence: str
) -> None:
    log = e2e.sandbox.request_log
    log.reset()
    env = e2e.live_env(**override)

    result = e2e.cli("plan", "journal", "--system", "vercel", "--target", "live", env=env)

    assert result.exit_code == 4, result.output
    assert sentence in result.stderr
    assert "Traceback" not in result.output
    assert "tok-first-line" not in result.output and "tok-second-line" not in result.output
    assert [e for e in log.entries() if e.vendor == "vercel"] == []


@pytest.mark.parametrize(
    ("system", "missing", "named"),
    [
        ("infisical", ("INFISICAL_TOKEN", "INFISICAL_CLIENT_ID", "INFISICAL_CLIENT_SECRET"),
         "INFISICAL_TOKEN"),
        ("vercel", ("VERCEL_TOKEN",), "VERCEL_TOKEN"),
        ("supabase", ("SUPABASE_ACCESS_TOKEN",), "SUPABASE_ACCESS_TOKEN"),
    ],
)
@pytest.mark.parametrize("command", ["plan", "apply", "drift"])
def test_missing_credentials_of_every_vendor_exit_4_naming_the_variable(
    e2e: E2E, system: str, missing: tuple[str, ...], named: str, command: str
) -> None:
    env = {k: v for k, v in e2e.live_env().items() if k not in missing}

    result = e2e.cli(command, "journal", "--system", system, "--target", "live", env=env)
    as_json = e2e.cli(command, "journal", "--system", system, "--target", "live",
                      "--output", "json", env=env)

    assert result.exit_code == 4, result.output
    assert named in result.stderr
    assert "Traceback" not in result.output
    assert as_json.exit_code == 4, as_json.output
    document = json.loads(as_json.stdout)
    assert document["ok"] is False and document["command"] == command
    errors = document.get("errors") or [p for p in document.get("projects", {}).values()]
    assert [e["exit_code"] for e in errors] == [4], document
