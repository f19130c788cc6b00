"""Plan and apply never trust decision.json or manifest.json on their word (issue 8 item
3), against a real sandbox: a forged allow, an artifact edited with its manifest, inputs
that now fail validation or were edited after render are refused before any vendor
request, and the vendors keep what they had.

Each test works in its own copy of the example workspace, run with ``--target live`` at
the module's sandbox (as a CI job points converge at the real vendors).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from converge.config.workspace import open_workspace
from converge.engine.journal import open_journal
from tests.conftest import CliResult
from tests.e2e.conftest import E2E, JOURNAL_SUPABASE_REF, copy_workspace, prepare_projects
from tests.support.forge import edit_artifact_with_manifest, forge_allow, weaken_auth

pytestmark = pytest.mark.integration

E2E_PROJECTS: tuple[str, ...] = ()
PROJECT = "journal"


class GateWorkspace:
    def __init__(self, root: Path, e2e: E2E) -> None:
        self.root = root
        self.e2e = e2e

    def cli(self, *args: str) -> CliResult:
        world = E2E(self.root, self.e2e.sandbox)
        return world.cli(*args, "--target", "live", env=self.e2e.live_env())

    def local(self, *args: str) -> CliResult:
        """A command that talks to no vendor (decide, render)."""
        return E2E(self.root, self.e2e.sandbox).cli(*args)

    def runs(self) -> int:
        ws = open_workspace(self.root)
        with open_journal(ws.settings.state, ws.root) as journal:
            return len(journal.last_runs(PROJECT, 100))

    def auth(self) -> dict[str, object]:
        config = self.e2e.sandbox.world.store.get("supabase", "auth_config", JOURNAL_SUPABASE_REF)
        assert config is not None
        return dict(config)


@pytest.fixture
def ws(e2e: E2E, tmp_path: Path) -> GateWorkspace:
    """A fresh copy of the example, journal decided, rendered and applied."""
    root = copy_workspace(tmp_path / "ws")
    prepare_projects(root, (PROJECT,))
    workspace = GateWorkspace(root, e2e)
    applied = workspace.cli("apply", PROJECT)
    assert applied.exit_code == 0, applied.output
    assert workspace.auth()["jwt_exp"] == 3600
    return workspace


def _forged(ws: GateWorkspace) -> None:
    weaken_auth(ws.root)
    assert ws.local("decide", PROJECT).exit_code == 1  # the policies deny
    forge_allow(ws.root)


@pytest.mark.parametrize("command", ["plan", "apply", "drift", "health", "rollout"])
def test_every_command_that_reads_the_artifacts_refuses_a_forged_allow(
    ws: GateWorkspace, command: str
) -> None:
    _forged(ws)
    runs = ws.runs()

    result = ws.cli(command, PROJECT)

    assert result.exit_code == 1, result.output
    assert (
        ".out/journal/decision.json does not match the policies' verdict on the current inputs "
        "(it says allow; they deny: "
    ) in result.output, result.output
    assert "Traceback" not in result.output
    assert ws.runs() == runs
    auth = ws.auth()
    assert (auth["jwt_exp"], auth["site_url"]) == (3600, "https://journal.acme.example")
    assert auth["uri_allow_list"] == "https://journal.acme.example/auth/callback"


def test_apply_refuses_an_artifact_edited_with_its_sha_and_the_manifest_digest(
    ws: GateWorkspace,
) -> None:
    edit_artifact_with_manifest(
        ws.root / ".out" / PROJECT,
        "supabase-config.json",
        '"jwt_exp": 3600',
        '"jwt_exp": 604800',
        redigest=True,
    )

    result = ws.cli("apply", PROJECT)

    assert result.exit_code == 1, result.output
    assert ".out/journal/supabase-config.json was edited after rendering" in result.output
    assert ws.auth()["jwt_exp"] == 3600


def test_apply_refuses_the_artifacts_of_inputs_that_now_fail_validation(ws: GateWorkspace) -> None:
    path = ws.root / "data/platforms/supabase/journal.yaml"
    path.write_text(path.read_text().replace("jwt_exp: 3600", "jwt_exp: 604800\n  jwt_expiry: 1"))

    result = ws.cli("apply", PROJECT)

    assert result.exit_code == 1, result.output
    assert "data/platforms/supabase/journal.yaml:3:" in result.output, result.output
    assert ws.auth()["jwt_exp"] == 3600


def test_plan_refuses_the_artifacts_of_inputs_edited_after_render(ws: GateWorkspace) -> None:
    path = ws.root / "data/platforms/supabase/journal.yaml"
    path.write_text(path.read_text().replace("jwt_exp: 3600", "jwt_exp: 7200"))

    planned = ws.cli("plan", PROJECT)
    applied = ws.cli("apply", PROJECT)

    for result in (planned, applied):
        assert result.exit_code == 1, result.output
        assert (
            "decision is stale: data/platforms/supabase/journal.yaml changed; run make decision"
        ) in result.output
    assert ws.auth()["jwt_exp"] == 3600
