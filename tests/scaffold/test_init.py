"""``converge init``: a workspace that validates, decides and renders as written, and a
command that never clobbers a folder it was not meant for."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from converge.errors import ConvergeError
from converge.scaffold import workspace as scaffold
from tests.conftest import REPO, CliResult

CONVERGE = REPO / ".venv" / "bin" / "converge"
WRITTEN = {
    "converge.yaml",
    "projects/web/project.yaml",
    "projects/web/identities.yaml",
    "data/infisical/web/roles.yaml",
    "data/platforms/vercel/web.yaml",
    "data/platforms/supabase/web.yaml",
    "policies/owners.rego",
    ".gitignore",
    "Makefile",
    ".github/workflows/converge.yml",
}

Run = Callable[..., CliResult]


@pytest.fixture(autouse=True)
def _no_workspace_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONVERGE_WORKSPACE", raising=False)
    monkeypatch.delenv("CONVERGE_TARGET", raising=False)


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_init_in_a_new_folder_writes_the_workspace_and_says_what_next(
    tmp_path: Path, run_cli: Run
) -> None:
    target = tmp_path / "infra"

    result = run_cli("init", str(target))

    assert result.exit_code == 0, result.output
    assert files_under(target) == WRITTEN
    for path in WRITTEN:
        assert f"created   {path}" in result.stdout
    assert "Next steps:" in result.stdout
    assert f"cd {target}" in result.stdout
    assert "CONVERGE_FINGERPRINT_KEY" in result.stdout
    settings = yaml.safe_load((target / "converge.yaml").read_text())
    assert settings["target"] == "live"


def test_the_new_workspace_validates_decides_and_renders_from_inside_it(
    tmp_path: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_cli("init", str(tmp_path / "ws")).exit_code == 0
    monkeypatch.chdir(tmp_path / "ws")

    for args in (
        ("validate", "--all"),
        ("decide", "--all"),
        ("render", "--all"),
        ("render", "--all", "--check"),
    ):
        result = run_cli(*args)
        assert result.exit_code == 0, (args, result.output)
    decision = json.loads(Path(".out/web/decision.json").read_text())
    assert decision["verdict"] == "allow"
    failed = [r for r in decision["results"] if r["status"] in ("fail", "warn", "waived")]
    assert failed == []  # allowed outright: no failure, warning or waiver
    assert any(r["rule"].startswith("rego.") for r in decision["results"])  # owners.rego ran


def test_the_makefile_targets_run_converge_with_or_without_project(tmp_path: Path) -> None:
    make = shutil.which("make")
    if make is None or not CONVERGE.exists():
        pytest.skip("make or the virtualenv's converge is missing")
    ws = tmp_path / "ws"
    assert subprocess.run([str(CONVERGE), "init", str(ws)], capture_output=True).returncode == 0

    def run_make(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [make, "--no-print-directory", f"CONVERGE={CONVERGE}", *args],
            cwd=ws, capture_output=True, text=True, timeout=120, check=False,
        )

    every = run_make("infisical-validate", "platform-validate", "decision", "render")
    assert every.returncode == 0, every.stdout + every.stderr
    assert "web: valid (infisical)" in every.stdout
    assert "web: rendered" in every.stdout
    one = run_make("render", "PROJECT=web")
    assert one.returncode == 0, one.stdout + one.stderr
    listed = run_make("help").stdout
    for target in (
        "drift-check", "infisical-validate", "platform-validate", "decision", "render",
        "reconcile-infisical", "reconcile-vercel", "reconcile-supabase", "reconcile",
        "reconcile-dry", "status",
    ):
        assert f"  {target} " in listed, target


def test_a_folder_with_files_is_refused_and_left_as_it_was(tmp_path: Path, run_cli: Run) -> None:
    (tmp_path / "README.md").write_text("mine\n")

    result = run_cli("init", str(tmp_path))

    assert result.exit_code == 1
    assert f"error: {tmp_path} is not empty (it holds README.md)" in result.stderr
    assert "hint: pass --force" in result.stderr
    assert files_under(tmp_path) == {"README.md"}


def test_a_fresh_git_repository_counts_as_empty(tmp_path: Path, run_cli: Run) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)

    result = run_cli("init", str(tmp_path))

    assert result.exit_code == 0, result.output
    assert "git init" not in result.stdout  # already a repository


def test_force_writes_beside_other_files_and_replaces_only_what_it_writes(
    tmp_path: Path, run_cli: Run
) -> None:
    assert run_cli("init", str(tmp_path)).exit_code == 0
    (tmp_path / "Makefile").write_text("all:\n\techo mine\n")
    (tmp_path / "notes.txt").write_text("keep me\n")

    refused = run_cli("init", str(tmp_path))
    forced = run_cli("init", "--force", str(tmp_path))

    assert refused.exit_code == 1
    assert forced.exit_code == 0, forced.output
    assert "overwrote Makefile" in forced.stdout
    assert "unchanged converge.yaml" in forced.stdout
    assert "reconcile-dry:" in (tmp_path / "Makefile").read_text()
    assert (tmp_path / "notes.txt").read_text() == "keep me\n"


def test_force_never_follows_a_link_out_of_the_folder(tmp_path: Path, run_cli: Run) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / ".github").symlink_to(outside, target_is_directory=True)

    result = run_cli("init", "--force", str(ws))

    assert result.exit_code == 1
    assert ".github/workflows/converge.yml leads outside" in result.stderr
    assert list(outside.iterdir()) == []


def test_a_file_in_place_of_the_folder_is_refused(tmp_path: Path, run_cli: Run) -> None:
    (tmp_path / "ws").write_text("")

    with pytest.raises(ConvergeError, match="exists and is not a folder"):
        scaffold.init_workspace(tmp_path / "ws", pip_spec="converge")
    result = run_cli("init", str(tmp_path / "ws"))  # click says so first, as a usage error

    assert result.exit_code != 0
    assert "is a file" in result.stderr
    assert (tmp_path / "ws").read_text() == ""


def test_gitignore_keeps_state_keys_and_local_audit_log_out(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    scaffold.init_workspace(tmp_path, pip_spec="converge==0.1.0")
    candidates = [
        ".converge/state.db", ".converge/fingerprint.key", ".converge/sandbox/state.sqlite",
        "team.key", "deploy/tls.pem", ".env", ".env.production", ".venv/bin/python",
        "reconciliation.log",
        ".out/web/manifest.json", ".out/web/decision.json", "projects/web/project.yaml",
        ".github/workflows/converge.yml",
    ]

    done = subprocess.run(
        ["git", "-C", str(tmp_path), "check-ignore", "--no-index", *candidates],
        capture_output=True, text=True, check=False,
    )

    ignored = set(done.stdout.split())
    assert ignored == set(candidates[:9])


def test_json_output_lists_every_file_and_the_next_steps(tmp_path: Path, run_cli: Run) -> None:
    result = run_cli("--output", "json", "init", str(tmp_path / "ws"))

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {f["path"] for f in report["files"]} == WRITTEN
    assert {f["action"] for f in report["files"]} == {"created"}
    assert report["next_steps"][0] == f"cd {tmp_path / 'ws'}"


def test_the_pip_spec_lands_in_the_workflow_as_one_value(tmp_path: Path, run_cli: Run) -> None:
    spec = 'converge[sandbox] @ git+https://github.com/acme/converge@v1.2.3 ; python_version>"3"'

    result = run_cli("init", "--pip-spec", spec, str(tmp_path))

    assert result.exit_code == 0, result.output
    workflow = yaml.safe_load((tmp_path / ".github/workflows/converge.yml").read_text())
    assert workflow["env"]["CONVERGE_PIP_SPEC"] == spec


def test_a_pip_spec_on_two_lines_is_refused(tmp_path: Path, run_cli: Run) -> None:
    result = run_cli("init", "--pip-spec", "converge\nevil", str(tmp_path / "ws"))

    assert result.exit_code == 1
    assert not (tmp_path / "ws").exists()


def test_default_pip_spec_is_the_commit_it_came_from_or_a_url_to_fill_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.metadata

    real = importlib.metadata.distribution("converge")
    # An editable install: a git URL to fill in, never the bare name (another PyPI project).
    assert scaffold.default_pip_spec() == (
        f"converge @ git+https://github.com/YOUR-ORG/converge@v{real.version}"
    )

    class FromGit:
        version = "0.1.0"

        def read_text(self, name: str) -> str | None:
            assert name == "direct_url.json"
            return json.dumps({
                "url": "https://github.com/acme/converge",
                "vcs_info": {"vcs": "git", "commit_id": "0123abc", "requested_revision": "main"},
            })

    monkeypatch.setattr(importlib.metadata, "distribution", lambda name: FromGit())
    assert scaffold.default_pip_spec() == (
        "converge @ git+https://github.com/acme/converge@0123abc"
    )
