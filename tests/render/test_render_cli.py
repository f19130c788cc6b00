"""decide → render through the CLI: the contract's refusals and the journal artifact set."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import CliResult

Run = Callable[..., CliResult]

JOURNAL_FILES = {
    "decision.json",
    "manifest.json",
    "ProjectRole_runtime_prod.yaml",
    "ProjectRole_ci_prod.yaml",
    "identity_token-service@journal-prod.yaml",
    "identity_ci@github-prod.yaml",
    "binding_token-service-runtime-binding.yaml",
    "binding_ci-ci-binding.yaml",
    "vercel-env.json",
    "supabase-config.json",
}


def _decide_render(run_cli: Run, ws: Path, project: str = "journal") -> None:
    assert run_cli("--workspace", str(ws), "decide", project).exit_code == 0
    assert run_cli("--workspace", str(ws), "render", project).exit_code == 0


def test_journal_allows_with_the_waived_warning_shown(workspace: Path, run_cli: Run) -> None:
    result = run_cli("--workspace", str(workspace), "decide", "journal")
    assert result.exit_code == 0, result.output
    assert "journal: allow" in result.output
    waived = [line for line in result.stdout.splitlines() if " waived " in line]
    assert len(waived) == 1
    assert waived[0].startswith(
        "infisical.trusted-ips-open waived projects/journal/identities.yaml:"
    )
    assert "Vercel functions have no fixed egress addresses" in waived[0]


def test_journal_renders_exactly_the_briefs_files(workspace: Path, run_cli: Run) -> None:
    _decide_render(run_cli, workspace)
    assert {p.name for p in (workspace / ".out/journal").iterdir()} == JOURNAL_FILES


def test_render_refuses_a_stale_decision(workspace: Path, run_cli: Run) -> None:
    assert run_cli("--workspace", str(workspace), "decide", "journal").exit_code == 0
    roles = workspace / "data/infisical/journal/roles.yaml"
    roles.write_text(roles.read_text().replace("/ci/**", "/ci/build/**"))
    result = run_cli("--workspace", str(workspace), "render", "journal")
    assert result.exit_code == 1
    assert (
        "decision is stale: data/infisical/journal/roles.yaml changed; run make decision"
        in result.output
    )
    assert not (workspace / ".out/journal/manifest.json").exists()


def test_render_refuses_a_denied_decision(workspace: Path, run_cli: Run) -> None:
    supabase = workspace / "data/platforms/supabase/journal.yaml"
    supabase.write_text(supabase.read_text().replace("jwt_exp: 3600", "jwt_exp: 604800"))
    decided = run_cli("--workspace", str(workspace), "decide", "journal")
    assert decided.exit_code == 1
    assert "journal: deny" in decided.output
    body = json.loads((workspace / ".out/journal/decision.json").read_text())
    assert body["verdict"] == "deny"
    result = run_cli("--workspace", str(workspace), "render", "journal")
    assert result.exit_code == 1
    assert "decision for journal is deny" in result.output


def test_render_refuses_a_hand_edited_decision(workspace: Path, run_cli: Run) -> None:
    assert run_cli("--workspace", str(workspace), "decide", "journal").exit_code == 0
    path = workspace / ".out/journal/decision.json"
    path.write_text(path.read_text().replace('"verdict": "allow"', '"verdict": "allow" '))
    body = json.loads(path.read_text())
    body["results"] = []
    path.write_text(json.dumps(body))
    result = run_cli("--workspace", str(workspace), "render", "journal")
    assert result.exit_code == 1
    assert "edited by hand" in result.output


def test_render_check_detects_a_hand_edited_artifact(workspace: Path, run_cli: Run) -> None:
    _decide_render(run_cli, workspace)
    check = run_cli("--workspace", str(workspace), "render", "journal", "--check")
    assert check.exit_code == 0, check.output
    artifact = workspace / ".out/journal/vercel-env.json"
    artifact.write_text(artifact.read_text().replace("https://api.journal", "https://evil.journal"))
    check = run_cli("--workspace", str(workspace), "render", "journal", "--check")
    assert check.exit_code == 1
    assert "journal/vercel-env.json was edited after rendering" in check.output


def test_render_check_detects_inputs_changed_after_render(workspace: Path, run_cli: Run) -> None:
    _decide_render(run_cli, workspace)
    vercel = workspace / "data/platforms/vercel/journal.yaml"
    vercel.write_text(vercel.read_text().replace("value: Journal", "value: Journal2"))
    check = run_cli("--workspace", str(workspace), "render", "journal", "--check")
    assert check.exit_code == 1
    assert "decision is stale" in check.output


def test_render_check_detects_an_extra_file(workspace: Path, run_cli: Run) -> None:
    _decide_render(run_cli, workspace)
    (workspace / ".out/journal/identity_rogue@journal-prod.yaml").write_text("x: 1\n")
    check = run_cli("--workspace", str(workspace), "render", "journal", "--check")
    assert check.exit_code == 1
    assert "identity_rogue@journal-prod.yaml" in check.output


def test_rerender_removes_artifacts_no_longer_declared(workspace: Path, run_cli: Run) -> None:
    _decide_render(run_cli, workspace)
    identities = workspace / "projects/journal/identities.yaml"
    text = identities.read_text()
    identities.write_text(text[: text.index("  - name: ci")])
    roles = workspace / "data/infisical/journal/roles.yaml"
    text = roles.read_text()
    roles.write_text(text[: text.index("  - name: ci")])
    _decide_render(run_cli, workspace)
    names = {p.name for p in (workspace / ".out/journal").iterdir()}
    assert "identity_ci@github-prod.yaml" not in names
    assert "binding_ci-ci-binding.yaml" not in names


def test_json_output_of_decide(workspace: Path, run_cli: Run) -> None:
    result = run_cli("--workspace", str(workspace), "--output", "json", "decide", "journal")
    assert result.exit_code == 0
    body = json.loads(result.stdout)["projects"][0]
    assert body["kind"] == "DecisionContract"
    assert body["decision_id"].startswith("sha256:")
