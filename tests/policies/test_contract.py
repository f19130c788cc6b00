"""decision.json is read through its model after its content hash: any edit reads as
edited by hand; a correctly signed file of the wrong shape is unreadable, never trusted."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from converge.errors import StaleArtifactError
from converge.policies.contract import DECISION_FILE, load_decision
from converge.util.canonical import canonical_json, content_id
from tests.conftest import EXAMPLE_WORKSPACE


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    target = tmp_path / "journal"
    shutil.copytree(EXAMPLE_WORKSPACE / ".out" / "journal", target)
    return target


def _rewrite(out_dir: Path, body: dict[str, Any], *, sign: bool) -> None:
    body = {k: v for k, v in body.items() if k != "decision_id"}
    claimed = content_id(body) if sign else "sha256:" + "0" * 64
    (out_dir / DECISION_FILE).write_text(canonical_json({**body, "decision_id": claimed}))


def _body(out_dir: Path) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((out_dir / DECISION_FILE).read_text())
    return body


def test_a_committed_decision_reads_back_to_its_own_bytes(out_dir: Path) -> None:
    decision = load_decision(out_dir, "journal")
    assert decision.text() == (out_dir / DECISION_FILE).read_text()
    assert decision.verdict == "allow"
    assert decision.decision_id == _body(out_dir)["decision_id"]
    assert decision.user_policies == _body(out_dir)["policies"]["user"]
    assert decision.body == _body(out_dir)


def test_an_edit_reads_as_edited_by_hand_before_any_shape_check(out_dir: Path) -> None:
    body = _body(out_dir)
    body["verdict"] = "maybe"
    _rewrite(out_dir, body, sign=False)
    with pytest.raises(StaleArtifactError, match="was edited by hand"):
        load_decision(out_dir, "journal")


@pytest.mark.parametrize(
    ("field", "value"),
    [("verdict", "maybe"), ("inputs", {"projects/journal/project.yaml": 7}), ("signed_by", "me")],
)
def test_a_signed_decision_of_the_wrong_shape_is_unreadable(
    out_dir: Path, field: str, value: Any
) -> None:
    body = _body(out_dir)
    body[field] = value
    _rewrite(out_dir, body, sign=True)
    with pytest.raises(StaleArtifactError) as caught:
        load_decision(out_dir, "journal")
    assert caught.value.message == "decision for journal is unreadable (journal/decision.json)"
    assert caught.value.hint == "run make decision PROJECT=journal"
