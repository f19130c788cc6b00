"""manifest.json is read through its model: a manifest that does not fit it is unreadable
and nothing is trusted; one that fits binds artifacts to a decision as before."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from converge.errors import StaleArtifactError
from converge.render.manifest import MANIFEST_FILE, build_manifest, load_manifest, verify_artifacts
from tests.conftest import EXAMPLE_WORKSPACE


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    target = tmp_path / "journal"
    shutil.copytree(EXAMPLE_WORKSPACE / ".out" / "journal", target)
    return target


def test_a_rebuilt_manifest_has_the_committed_bytes(out_dir: Path) -> None:
    manifest = load_manifest(out_dir, "journal")
    texts = verify_artifacts(out_dir, "journal", manifest.decision_id)
    assert build_manifest("journal", manifest.decision_id, texts) == (
        out_dir / MANIFEST_FILE
    ).read_text()


@pytest.mark.parametrize(
    ("edit", "value"),
    [
        ("artifacts", {"vercel-env.json": 12}),
        ("artifacts", ["vercel-env.json"]),
        ("decision_id", 3),
        ("kind", "Inventory"),
        ("signed_by", "me"),
    ],
)
def test_a_manifest_that_does_not_fit_its_model_is_unreadable(
    out_dir: Path, edit: str, value: object
) -> None:
    path = out_dir / MANIFEST_FILE
    body = json.loads(path.read_text())
    decision_id = body["decision_id"]
    body[edit] = value
    path.write_text(json.dumps(body))
    with pytest.raises(StaleArtifactError) as caught:
        verify_artifacts(out_dir, "journal", decision_id)
    assert caught.value.message == "manifest for journal is unreadable (journal/manifest.json)"


def test_a_manifest_of_another_decision_is_refused(out_dir: Path) -> None:
    with pytest.raises(StaleArtifactError, match="rendered from another decision"):
        verify_artifacts(out_dir, "journal", "sha256:" + "1" * 64)
