"""The trust gate (issue 8 item 3, DESIGN §5 "Trust"): ``decision.json`` and
``manifest.json`` are records, not credentials. What plan, apply, drift, health and
rollout reconcile towards (``load_desired``) comes from the policies re-evaluated and the
artifacts re-rendered in memory from the workspace inputs, accepted only when every file
of ``.out/<p>/`` is byte-identical to that render.

Each test builds a state that the hashes alone used to vouch for; before the gate,
``load_desired`` returned it (and apply applied it).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from converge.config.workspace import open_workspace
from converge.engine.reconcile import load_desired
from converge.errors import ConfigErrors, ConvergeError, PolicyDenied, StaleArtifactError
from tests.conftest import CliResult
from tests.support.forge import edit_artifact_with_manifest, forge_allow, weaken_auth

Run = Callable[..., CliResult]
PROJECT = "journal"


@pytest.fixture
def rendered(workspace: Path, run_cli: Run) -> Path:
    """The example workspace with journal decided and rendered."""
    for command in ("decide", "render"):
        result = run_cli("--workspace", str(workspace), command, PROJECT)
        assert result.exit_code == 0, result.output
    return workspace


def _refusal(root: Path) -> ConvergeError:
    with pytest.raises(ConvergeError) as caught:
        load_desired(open_workspace(root), PROJECT)
    return caught.value


def test_the_rendered_workspace_is_trusted(rendered: Path) -> None:
    desired = load_desired(open_workspace(rendered), PROJECT)
    assert desired.supabase is not None and desired.supabase.auth["jwt_exp"] == 3600


def test_a_forged_allow_decision_with_a_recomputed_id_is_refused(
    rendered: Path, run_cli: Run
) -> None:
    weaken_auth(rendered)
    assert run_cli("--workspace", str(rendered), "decide", PROJECT).exit_code == 1  # deny
    forge_allow(rendered)

    refused = _refusal(rendered)

    assert isinstance(refused, StaleArtifactError)
    assert refused.message.startswith(
        ".out/journal/decision.json does not match the policies' verdict on the current "
        "inputs (it says allow; they deny: "
    ), refused.message
    assert "supabase.jwt-exp" in refused.message and "supabase.https-urls" in refused.message
    assert "run make decision PROJECT=journal" in refused.message


@pytest.mark.parametrize("redigest", [False, True], ids=["digest-stale", "digest-recomputed"])
def test_an_artifact_edited_with_its_sha_in_the_manifest_is_refused(
    rendered: Path, redigest: bool
) -> None:
    edit_artifact_with_manifest(
        rendered / ".out" / PROJECT,
        "supabase-config.json",
        '"jwt_exp": 3600',
        '"jwt_exp": 604800',
        redigest=redigest,
    )

    refused = _refusal(rendered)

    assert isinstance(refused, StaleArtifactError)
    assert "supabase-config.json was edited after rendering" in refused.message, refused.message


def test_the_artifacts_of_inputs_that_now_fail_validation_are_refused(rendered: Path) -> None:
    path = rendered / "data/platforms/supabase/journal.yaml"
    path.write_text(path.read_text().replace("jwt_exp: 3600", "jwt_exp: soon"))

    refused = _refusal(rendered)

    assert isinstance(refused, ConfigErrors)
    assert refused.render().startswith("data/platforms/supabase/journal.yaml:2:"), refused.render()


def test_the_artifacts_of_inputs_edited_after_render_are_refused(rendered: Path) -> None:
    path = rendered / "data/platforms/vercel/journal.yaml"
    path.write_text(path.read_text().replace("value: Journal\n", "value: Journal 2\n"))

    refused = _refusal(rendered)

    assert isinstance(refused, StaleArtifactError)
    assert refused.message == (
        "decision is stale: data/platforms/vercel/journal.yaml changed; run make decision"
    )


def test_a_user_policy_added_after_render_is_applied_to_the_decision(rendered: Path) -> None:
    (rendered / "policies" / "no_github.rego").write_text(
        "package converge.nogithub\n\nimport rego.v1\n\n"
        "deny contains msg if {\n\tinput.supabase.auth.providers.github.enabled\n"
        '\tmsg := "github sign-in is not allowed"\n}\n'
    )
    assert "policies/no_github.rego was added" in _refusal(rendered).message


def test_a_denied_decision_stays_refused_as_deny(rendered: Path, run_cli: Run) -> None:
    weaken_auth(rendered)
    assert run_cli("--workspace", str(rendered), "decide", PROJECT).exit_code == 1

    refused = _refusal(rendered)

    assert isinstance(refused, PolicyDenied)
    assert refused.message == "decision for journal is deny; nothing is applied"


def test_an_extra_file_is_refused(rendered: Path) -> None:
    (rendered / ".out/journal/identity_rogue@journal-prod.yaml").write_text("x: 1\n")
    assert "identity_rogue@journal-prod.yaml is not in manifest.json" in _refusal(rendered).message


def test_a_symbolic_link_in_the_output_folder_is_refused(rendered: Path) -> None:
    out = rendered / ".out" / PROJECT
    target = rendered / "elsewhere.json"
    os.replace(out / "vercel-env.json", target)
    (out / "vercel-env.json").symlink_to(target)

    refused = _refusal(rendered)

    assert ".out/journal/vercel-env.json is a symbolic link" in refused.message


def test_a_manifest_naming_another_decision_is_refused(rendered: Path, run_cli: Run) -> None:
    path = rendered / "data/platforms/vercel/journal.yaml"
    path.write_text(path.read_text().replace("value: Journal\n", "value: Journal 2\n"))
    assert run_cli("--workspace", str(rendered), "decide", PROJECT).exit_code == 0

    refused = _refusal(rendered)

    assert "artifacts of journal were rendered from another decision" in refused.message


def test_a_decision_with_a_forged_result_but_the_same_verdict_is_refused(rendered: Path) -> None:
    out = rendered / ".out" / PROJECT
    body = json.loads((out / "decision.json").read_text())
    waived = next(r for r in body["results"] if r["status"] == "waived")
    waived["status"] = "pass"
    from tests.support.forge import sign_decision

    forged = sign_decision(out, body)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["decision_id"] != forged

    refused = _refusal(rendered)

    assert refused.message.startswith(
        ".out/journal/decision.json does not match the policies' verdict on the current inputs"
    ), refused.message
