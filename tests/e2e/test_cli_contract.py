"""The exit codes and the JSON contract of every command (issue 9 item 2), against a real
sandbox: each command of the ``converge`` tree runs as text, with ``--output json`` before
its name and with ``--output json`` after its arguments; the exit code is the documented
one, and in JSON mode stdout is exactly one versioned document naming the command (an
error too: ``ok`` false and ``error.exit_code``).

``CASES`` must name every command of the tree: a new command fails
``test_every_command_has_a_case`` until it gets a case here (and a section in
docs/json-output.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

from converge.cli.main import cli
from tests.conftest import CliResult
from tests.e2e.conftest import E2E, JOURNAL_SUPABASE_REF, start_e2e

pytestmark = pytest.mark.integration

DOCS = Path(__file__).resolve().parents[2] / "docs" / "json-output.md"


@dataclass(frozen=True)
class Case:
    """``converge <command> <args>`` and the exit code it must give here."""

    command: str
    args: tuple[str, ...]
    exit_code: int
    why: str = ""


# In order: the workspace is applied once before; each command leaves it so.
CASES = [
    Case("validate", ("journal",), 0),
    Case("decide", ("journal",), 0),
    Case("render", ("journal",), 0),
    Case("schema", ("--dir", "{tmp}/schemas", "--check"), 1, "the folder is empty"),
    Case("plan", ("journal",), 0),
    Case("apply", ("journal",), 0),
    Case("status", ("journal",), 0),
    Case("drift", ("journal",), 0),
    Case("health", ("journal",), 0),
    Case("watch", ("journal", "--once"), 0),
    Case("rollback", ("journal",), 1, "no earlier revision to restore"),
    Case("rollout", ("journal",), 0),
    Case("audit verify", (), 0),
    Case("audit reseal", ("--reason", "nothing lost"), 1, "refused: the log matches"),
    Case("import", ("imported", "--infisical-project", "journal", "--vercel-project",
                    "journal-web", "--vercel-team", "acme", "--supabase-ref",
                    JOURNAL_SUPABASE_REF, "--organization", "acme", "--force"), 0),
    Case("dashboard", ("--bind", "0.0.0.0", "--port", "0"), 1,
         "a non-loopback bind without a token is refused before serving"),
    Case("sandbox env", (), 0),
    Case("sandbox reset", (), 1, "refused while the sandbox runs"),
    Case("sandbox serve", (), 1, "a sandbox already runs for the workspace"),
    # Another helper's command; checked here once it is in the tree.
    Case("init", ("{tmp}/new-workspace-{mode}",), 0),
]
MODES = ("text", "json-before", "json-after")


def leaf_commands(group: click.Group, prefix: str = "") -> Iterator[str]:
    for name, command in sorted(group.commands.items()):
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            yield from leaf_commands(command, f"{path} ")
        else:
            yield path


COMMANDS = set(leaf_commands(cli))


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2E]:
    harness = start_e2e(tmp_path_factory.mktemp("contract") / "ws", projects=("journal",))
    try:
        first = harness.cli("apply", "journal")
        assert first.exit_code == 0, first.output
        yield harness
    finally:
        harness.sandbox.stop()


def run_case(e2e: E2E, case: Case, mode: str, tmp: Path) -> CliResult:
    args = [a.format(tmp=tmp, mode=mode) for a in case.args]
    words = case.command.split()
    if mode == "json-before":
        return e2e.cli("--output", "json", *words, *args)
    if mode == "json-after":
        return e2e.cli(*words, *args, "--output", "json")
    return e2e.cli(*words, *args)


def test_every_command_has_a_case() -> None:
    missing = COMMANDS - {c.command for c in CASES}
    assert not missing, f"commands without a case in CASES: {sorted(missing)}"


def test_every_command_has_a_section_in_the_json_docs() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = [c for c in sorted(COMMANDS) if f"## `converge {c}`" not in text]
    assert not missing, f"docs/json-output.md has no section for {missing}"


@pytest.mark.parametrize(
    ("case", "mode"),
    [(case, mode) for case in CASES for mode in MODES],
    ids=[f"{case.command}-{mode}" for case in CASES for mode in MODES],
)
def test_exit_code_and_one_json_document(
    applied: E2E, tmp_path: Path, case: Case, mode: str
) -> None:
    if case.command not in COMMANDS:
        pytest.skip(f"converge {case.command} is not in this tree")

    result = run_case(applied, case, mode, tmp_path)

    assert result.exit_code == case.exit_code, result.output
    assert "Traceback" not in result.output
    if mode == "text":
        assert not result.stdout.lstrip().startswith("{"), result.stdout
        return
    document = json.loads(result.stdout)  # exactly one document: trailing text fails
    assert isinstance(document, dict)
    assert document["format_version"] == 1
    assert document["command"] == case.command
    assert document["ok"] is (case.exit_code in (0, 2))
    if "error" in document:
        assert document["error"]["exit_code"] == case.exit_code
        assert document["error"]["message"]
        assert "error: " in result.stderr  # the human line stays on stderr


@pytest.mark.parametrize(
    "args", [("audit", "--output", "json", "verify"), ("sandbox", "--output", "json", "env")]
)
def test_output_json_between_a_group_and_its_command(applied: E2E, args: tuple[str, ...]) -> None:
    result = applied.cli(*args)

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["command"] == f"{args[0]} {args[-1]}"


def test_multi_project_commands_report_each_failed_project_in_the_document(
    applied: E2E,
) -> None:
    # analytics was never decided: plan and drift report it and go on with journal.
    for command in ("plan", "drift"):
        result = applied.cli(command, "journal", "analytics", "--output", "json")

        assert result.exit_code == 1, result.output
        document = json.loads(result.stdout)
        assert document["ok"] is False
        assert [e["project"] for e in document["errors"]] == ["analytics"]
        assert document["errors"][0]["exit_code"] == 1
        assert "error: analytics: no decision for analytics" in result.stderr
