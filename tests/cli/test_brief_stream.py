"""The brief's block streamed as changes are applied (``cli.brief.BlockStream``): each
line comes out once it and every line above it are due, the summary at the end, and the
lines printed are exactly the whole block, in its order."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from converge.changes import Action, Change
from converge.cli.brief import BlockStream, system_block
from converge.config.workspace import open_workspace
from converge.desired import DesiredState
from converge.engine.plan import SystemPlan
from converge.engine.trust import trusted_artifacts
from tests.conftest import CliResult


def journal_desired(workspace: Path, run_cli: Callable[..., CliResult]) -> DesiredState:
    for step in ("decide", "render"):
        assert run_cli("--workspace", str(workspace), step, "journal").exit_code == 0
    return trusted_artifacts(open_workspace(workspace), "journal").desired


def role(label: str, stage: int = 0) -> Change:
    name = label.replace(" (", "-").rstrip(")")
    return Change("infisical", "role", name, Action.CREATE, stage, label=label)


def test_lines_stream_in_block_order_as_their_changes_are_applied(
    workspace: Path, run_cli: Callable[..., CliResult]
) -> None:
    desired = journal_desired(workspace, run_cli)
    runtime, ci = role("runtime (prod)"), role("ci (prod)")
    plan = SystemPlan("infisical", (runtime, ci), in_sync=4)
    printed: list[list[str]] = []

    stream = BlockStream(desired, plan, printed.append)
    before = sum(printed, [])
    stream.applied(ci)  # applied first, but listed after runtime: waits for it
    after_ci = sum(printed, [])
    stream.applied(runtime)
    after_runtime = sum(printed, [])
    stream.finish({})
    whole = sum(printed, [])

    assert before[:3] == [
        "🔄 Reconciling Infisical resources for project: journal",
        "",
        "📋 Applying ProjectRoles...",
    ]
    assert "  Applying ProjectRole: runtime (prod)" not in before
    assert after_ci == before
    assert after_runtime[len(before):][:2] == [
        "  Applying ProjectRole: runtime (prod)",
        "  Applying ProjectRole: ci (prod)",
    ]
    assert "📊 Reconciliation Summary:" not in after_runtime  # the summary waits for the end
    assert whole == system_block(desired, plan, {}, dry_run=False)
    assert whole[-2:] == ["  ✅ Applied: 2 resources", "  ✓ In sync: 4 resources"]


def test_a_change_never_applied_holds_back_every_line_below_it(
    workspace: Path, run_cli: Callable[..., CliResult]
) -> None:
    desired = journal_desired(workspace, run_cli)
    runtime, ci = role("runtime (prod)"), role("ci (prod)")
    printed: list[list[str]] = []

    stream = BlockStream(desired, SystemPlan("infisical", (runtime, ci)), printed.append)
    stream.applied(ci)  # runtime failed: nothing after its line comes out

    lines = sum(printed, [])
    assert lines[-1] == "📋 Applying ProjectRoles..."
