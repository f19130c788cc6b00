"""``render`` and ``render --check`` re-evaluate the policies instead of trusting
decision.json (issue 8 item 3): a decision flipped to allow with its id recomputed, and
artifacts edited together with their manifest, are refused naming the file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult
from tests.support.forge import edit_artifact_with_manifest, forge_allow, weaken_auth

Run = Callable[..., CliResult]
FORGED = (
    "error: .out/journal/decision.json does not match the policies' verdict on the "
    "current inputs (it says allow; they deny: "
)


def _forged(workspace: Path, run_cli: Run) -> None:
    weaken_auth(workspace)
    assert run_cli("--workspace", str(workspace), "decide", "journal").exit_code == 1
    forge_allow(workspace)


def test_render_refuses_a_forged_allow_decision(workspace: Path, run_cli: Run) -> None:
    _forged(workspace, run_cli)
    before = (workspace / ".out/journal/supabase-config.json").read_bytes()

    result = run_cli("--workspace", str(workspace), "render", "journal")

    assert result.exit_code == 1, result.output
    assert FORGED in result.output, result.output
    assert "supabase.jwt-exp" in result.output
    assert (workspace / ".out/journal/supabase-config.json").read_bytes() == before


def test_render_check_refuses_a_forged_allow_decision(workspace: Path, run_cli: Run) -> None:
    _forged(workspace, run_cli)

    result = run_cli("--workspace", str(workspace), "render", "journal", "--check")

    assert result.exit_code == 1, result.output
    assert "journal: artifacts stale" in result.output
    assert "does not match the policies' verdict on the current inputs" in result.output


@pytest.mark.parametrize("redigest", [False, True], ids=["digest-stale", "digest-recomputed"])
def test_render_check_refuses_an_artifact_edited_with_its_manifest(
    workspace: Path, run_cli: Run, redigest: bool
) -> None:
    for command in ("decide", "render"):
        assert run_cli("--workspace", str(workspace), command, "journal").exit_code == 0
    edit_artifact_with_manifest(
        workspace / ".out/journal",
        "vercel-env.json",
        "https://api.journal",
        "https://evil.journal",
        redigest=redigest,
    )

    result = run_cli("--workspace", str(workspace), "render", "journal", "--check")

    assert result.exit_code == 1, result.output
    assert ".out/journal/vercel-env.json was edited after rendering" in result.output
