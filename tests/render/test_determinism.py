"""Rendering is a pure function of the inputs' meaning: same inputs, same bytes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from converge.config.workspace import open_workspace
from converge.render.artifacts import render_artifacts

KEYS = st.from_regex(r"NEXT_PUBLIC_[A-Z][A-Z0-9_]{0,10}", fullmatch=True)
VALUES = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=30
)


def _write_vercel(workspace: Path, public: dict[str, str], *, reverse: bool) -> None:
    items = sorted(public.items(), reverse=reverse)
    doc = {
        "public": {k: {"value": v, "environments": ["prod"]} for k, v in items},
        "server": {
            "INFISICAL_CLIENT_ID": {
                "ref": "identity/token-service@journal-prod/client-id",
                "environments": ["prod"],
            },
        },
    }
    with (workspace / "data/platforms/vercel/journal.yaml").open("w") as stream:
        # Quoted: PyYAML writes YAML 1.1, where "0E0" is no number and goes out bare, but
        # converge reads YAML 1.2, where a bare 0E0 is a float.
        yaml.safe_dump(doc, stream, default_style='"')


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(public=st.dictionaries(KEYS, VALUES, min_size=1, max_size=6))
def test_key_order_in_the_yaml_does_not_change_the_artifacts(
    workspace: Path, public: dict[str, str]
) -> None:
    _write_vercel(workspace, public, reverse=False)
    first = render_artifacts(open_workspace(workspace).load_project("journal"))
    _write_vercel(workspace, public, reverse=True)
    second = render_artifacts(open_workspace(workspace).load_project("journal"))
    assert first == second
    for text in first.values():
        assert "\r" not in text and text.endswith("\n")
        assert str(workspace) not in text


def test_render_is_identical_across_processes_and_hash_seeds(
    workspace: Path, tmp_path: Path
) -> None:
    """Two interpreters with different hash seeds write byte-identical artifacts."""
    script = (
        "import sys, json; from pathlib import Path;"
        "from converge.config.workspace import open_workspace;"
        "from converge.render.artifacts import render_artifacts;"
        "ws = open_workspace(Path(sys.argv[1]));"
        "print(json.dumps({p: render_artifacts(ws.load_project(p)) for p in ws.project_names()}))"
    )
    outputs = []
    for seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", script, str(workspace)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
    assert len(outputs[0]) > 1000
