"""What a hostile pull request can do to ``.out/<p>/``: every file there is plain text that
anyone may edit, including the content hashes that used to vouch for it.

Used by the trust-gate tests (issue 8 item 3) and the rollback tests (item 11) to build
forged states exactly as an attacker would, with converge's own functions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from converge.config.workspace import open_workspace
from converge.engine.pipeline import load_valid_project
from converge.render.artifacts import render_artifacts
from converge.render.manifest import MANIFEST_FILE, build_manifest
from converge.util.canonical import canonical_json, content_id, sha256_hex

# The three settings of the issue: a week-long JWT, a plain-http site URL, a bare wildcard.
WEAK_AUTH = (
    ("jwt_exp: 3600", "jwt_exp: 604800"),
    ("site_url: https://journal.acme.example", "site_url: http://journal.acme.example"),
    (
        "uri_allow_list: [https://journal.acme.example/auth/callback]",
        "uri_allow_list: ['*']",
    ),
)
SUPABASE_FILE = "data/platforms/supabase/{project}.yaml"


def weaken_auth(root: Path, project: str = "journal") -> None:
    """Edit the project's Supabase inputs into what the built-in rules deny."""
    path = root / SUPABASE_FILE.format(project=project)
    text = path.read_text()
    for old, new in WEAK_AUTH:
        assert old in text, f"{old!r} not in {path}"
        text = text.replace(old, new, 1)
    path.write_text(text)


def sign_decision(out: Path, body: dict[str, Any]) -> str:
    """Write ``body`` as decision.json with its ``decision_id`` recomputed (what anyone can
    do: the id is a plain hash of the content); return the new id."""
    body = {k: v for k, v in body.items() if k != "decision_id"}
    decision_id = content_id(body)
    (out / "decision.json").write_text(canonical_json({**body, "decision_id": decision_id}))
    return decision_id


def forge_allow(root: Path, project: str = "journal") -> str:
    """Flip the project's (deny) decision to allow, recompute its id, and render the
    artifacts and manifest from the current inputs as ``render`` would have; return the
    forged decision id."""
    out = root / ".out" / project
    body = json.loads((out / "decision.json").read_text())
    body["verdict"] = "allow"
    for result in body["results"]:
        if result["status"] == "fail":
            result["status"] = "pass"
    decision_id = sign_decision(out, body)
    inputs = load_valid_project(open_workspace(root), project)
    artifacts = render_artifacts(inputs)
    for name, text in artifacts.items():
        (out / name).write_text(text)
    (out / MANIFEST_FILE).write_text(build_manifest(project, decision_id, artifacts))
    return decision_id


def edit_artifact_with_manifest(
    out: Path, name: str, old: str, new: str, *, redigest: bool
) -> None:
    """Edit one artifact and its sha256 in manifest.json; with ``redigest`` the manifest's
    own digest is recomputed too, so every hash in the folder is consistent."""
    artifact = out / name
    text = artifact.read_text()
    assert old in text, f"{old!r} not in {name}"
    text = text.replace(old, new, 1)
    artifact.write_text(text)
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    manifest["artifacts"][name] = sha256_hex(text)
    if redigest:
        body = {k: v for k, v in manifest.items() if k != "digest"}
        manifest["digest"] = content_id(body)
    (out / MANIFEST_FILE).write_text(canonical_json(manifest))
