"""``converge rollout`` of auth-service (waves [[eu-west], [us-east]]) against one real
sandbox for the module: waves apply only their regions, gates run between them, and a
failed gate rolls back (or halts) as project.yaml says.

Every test applies revision A in full first, then commits revision B (a new ``jwt_exp``
for both regional Supabase projects, plus any gate change) and rolls B out.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from converge.config.workspace import open_workspace
from converge.engine.journal import open_journal
from converge.ops.rollout import WaveReport, rollout_project
from converge_sandbox.serving import ServedApp, serve_in_thread
from tests.e2e.conftest import E2E, start_e2e
from tests.ops.test_rollback import (
    RollbackWorkspace,
    applied_workspace,
    register_rollout_commands,
    rollback_fault,
)
from tests.support.context import run_context

PROJECT = "auth-service"
EU_REF, US_REF = "authsvceuwestqzvtkwm", "authsvcuseastqzvtkwm"
GATE_LINE = "gate: {health: true, drift: true, soak_seconds: 0}"


@pytest.fixture(scope="module")
def rollout_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2E]:
    register_rollout_commands()
    world = start_e2e(tmp_path_factory.mktemp("rollout") / "ws", projects=())
    try:
        yield world
    finally:
        world.sandbox.stop()


class ProbeServer:
    """A tiny HTTP endpoint answering ``statuses`` in turn (the last one from then on)."""

    def __init__(self, *statuses: int):
        self.statuses = list(statuses)
        self.calls = 0
        self.served: ServedApp = serve_in_thread(self)

    @property
    def url(self) -> str:
        return f"{self.served.url}/healthz"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        status = self.statuses[min(self.calls, len(self.statuses) - 1)]
        self.calls += 1
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture
def rollout_probe() -> Iterator[list[ProbeServer]]:
    servers: list[ProbeServer] = []
    yield servers
    for server in servers:
        server.served.stop()


@pytest.fixture
def rollout_ws(tmp_path: Path, rollout_sandbox: E2E) -> RollbackWorkspace:
    return applied_workspace(tmp_path, rollout_sandbox, PROJECT)


def _commit_b(ws: RollbackWorkspace, *, gate: str = GATE_LINE, on_failure: str = "rollback") -> str:
    project_yaml = "projects/auth-service/project.yaml"
    ws.edit("data/platforms/supabase/auth-service.yaml", "jwt_exp: 900", "jwt_exp: 1200")
    ws.edit(project_yaml, GATE_LINE, gate)
    ws.edit(project_yaml, "on_failure: rollback", f"on_failure: {on_failure}")
    ws.rerender()
    return ws.commit("B")


def _supabase_refs(ws: RollbackWorkspace, run_id: str) -> set[str]:
    """The Supabase project refs a run wrote to (auth settings)."""
    workspace = open_workspace(ws.root)
    with open_journal(workspace.settings.state, workspace.root) as journal:
        return {
            o.name.split("/")[0]
            for o in journal.operations(run_id)
            if o.system == "supabase" and o.state == "done"
        }


def test_rollout_applies_wave_by_wave_and_gates_each_wave(rollout_ws: RollbackWorkspace) -> None:
    revision_b = _commit_b(rollout_ws)

    result = rollout_ws.cli("rollout", PROJECT)

    assert result.exit_code == 0, result.output
    for line in (
        "Wave 1: eu-west + non-regional systems",
        "Wave 2: us-east",
        "✅ health: healthy",
        "✅ drift: no drift",
        "✅ Rollout of auth-service: completed",
    ):
        assert line in result.stdout, result.stdout
    done, second, first = rollout_ws.runs()[:3]
    assert (first.command, first.result, first.git_revision) == (
        "rollout-wave",
        "succeeded",
        revision_b,
    )
    assert (second.command, second.result, second.systems) == (
        "rollout-wave",
        "succeeded",
        ("supabase",),
    )
    assert _supabase_refs(rollout_ws, first.id) == {EU_REF}
    assert _supabase_refs(rollout_ws, second.id) == {US_REF}
    assert (done.command, done.result, done.git_revision) == ("rollout", "succeeded", revision_b)
    assert rollout_ws.plan_at(revision_b).empty


def test_a_second_wave_failing_its_gate_rolls_back_every_wave(
    rollout_ws: RollbackWorkspace, rollout_probe: list[ProbeServer]
) -> None:
    revision_a = rollout_ws.revision_a
    probe = ProbeServer(200, 500)  # healthy after wave 1, failing after wave 2
    rollout_probe.append(probe)
    gate = GATE_LINE.replace("}", f", probe: {{url: '{probe.url}', expect_status: 200}}}}")
    revision_b = _commit_b(rollout_ws, gate=gate)
    assert not rollout_ws.plan_at(revision_b).empty

    result = rollout_ws.cli("rollout", PROJECT)

    assert result.exit_code == 1, result.output
    out = result.stdout
    assert out.index("Wave 1") < out.index("gate passed") < out.index("Wave 2")
    assert f"❌ probe: {probe.url} answered 500 (expected 200)" in out
    assert "↩️ rolled back wave 2 (us-east)" in out
    assert "↩️ rolled back wave 1 (eu-west + non-regional systems)" in out
    assert "Rollout of auth-service: rolled_back" in out
    undo_first, undo_second, wave_2, wave_1 = rollout_ws.runs()[:4]
    assert [r.command for r in (wave_1, wave_2)] == ["rollout-wave", "rollout-wave"]
    assert _supabase_refs(rollout_ws, wave_1.id) == {EU_REF}  # B reached both regions...
    assert _supabase_refs(rollout_ws, wave_2.id) == {US_REF}
    assert [undo_first.command, undo_second.command] == ["rollback", "rollback"]
    assert {undo_first.git_revision, undo_second.git_revision} == {revision_a}
    assert _supabase_refs(rollout_ws, undo_second.id) == {US_REF}  # ...and was undone, wave 2 first
    assert _supabase_refs(rollout_ws, undo_first.id) == {EU_REF}
    assert rollout_ws.plan_at(revision_a).empty  # drift-free against revision A


def test_halt_stops_at_the_failing_wave_and_json_reports_each_gate(
    rollout_ws: RollbackWorkspace, rollout_probe: list[ProbeServer]
) -> None:
    revision_a = rollout_ws.revision_a
    probe = ProbeServer(503)
    rollout_probe.append(probe)
    gate = GATE_LINE.replace("}", f", probe: {{url: '{probe.url}', expect_status: 200}}}}")
    revision_b = _commit_b(rollout_ws, gate=gate, on_failure="halt")

    result = rollout_ws.cli("rollout", PROJECT, "--output", "json")

    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)["rollouts"][0]
    assert report["outcome"] == "halted"
    first, second = report["waves"]
    assert (first["status"], first["gate"]["passed"]) == ("applied", False)
    checks = {c["check"]: c["passed"] for c in first["gate"]["checks"]}
    assert checks == {"health": True, "drift": True, "probe": False}
    assert (second["status"], second["gate"]) == ("pending", None)
    assert rollout_ws.plan_at(revision_b, regions=("eu-west", None)).empty  # wave 1 stays at B
    assert rollout_ws.plan_at(revision_a, regions=("us-east",)).empty  # us-east untouched
    assert not rollout_ws.plan_at(revision_a, regions=("eu-west",)).empty


def test_a_wave_whose_apply_fails_part_way_is_rolled_back_with_the_waves_before_it(
    rollout_ws: RollbackWorkspace,
) -> None:
    revision_a = rollout_ws.revision_a
    revision_b = _commit_b(rollout_ws)
    sandbox = rollout_ws.sandbox.sandbox

    def fail_the_next_supabase_write(wave: WaveReport) -> None:
        if wave.wave.number == 1:  # wave 2's first write (us-east auth settings) fails
            fault = rollback_fault(sandbox, "supabase", "fail_write=1,error_codes=400")
            faults.enter_context(fault)

    with (
        contextlib.ExitStack() as faults,
        run_context(rollout_ws.root, rollout_ws.sandbox.live_env()) as context,
    ):
        report = rollout_project(
            context, PROJECT, revision=revision_b, on_wave=fail_the_next_supabase_write
        )

    assert report.outcome == "rolled_back", report.message
    first, second = report.waves
    assert first.status == "applied" and first.gate is not None and first.gate.passed
    assert second.status == "failed" and "supabase answered 400" in (second.error or "")
    assert first.rollback is not None and second.rollback is not None
    assert report.message.startswith("wave 2 failed to apply; 2 wave(s) rolled back to")
    assert rollout_ws.plan_at(revision_a).empty
