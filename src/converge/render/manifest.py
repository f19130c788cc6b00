"""The manifest binds rendered artifacts to the decision they came from (DESIGN §1, §3).

``plan`` and ``apply`` trust an artifact only when its sha256 matches the manifest and
the manifest names the current decision, so a hand-edited artifact is refused, never applied.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from converge.artifacts.contract import Manifest, ManifestBody
from converge.artifacts.wire import API_VERSION
from converge.errors import StaleArtifactError
from converge.util.canonical import content_id, sha256_hex

MANIFEST_FILE = "manifest.json"


def build_manifest(project: str, decision_id: str, artifacts: dict[str, str]) -> str:
    """Manifest text for ``artifacts`` (file name -> text)."""
    body = ManifestBody(
        apiVersion=API_VERSION,
        kind="Manifest",
        project=project,
        decision_id=decision_id,
        artifacts={name: sha256_hex(text) for name, text in sorted(artifacts.items())},
    )
    wire = body.to_wire()
    return Manifest.model_validate({**wire, "digest": content_id(wire)}).to_json()


def load_manifest(out_dir: Path, project: str) -> Manifest:
    """Read ``.out/<p>/manifest.json``; a missing or malformed one is a StaleArtifactError."""
    rel = f"{out_dir.name}/{MANIFEST_FILE}"
    path = out_dir / MANIFEST_FILE
    if not path.is_file():
        raise StaleArtifactError(
            f"no manifest for {project}: {rel} is missing", hint=_hint(project)
        )
    try:
        return Manifest.model_validate_json(path.read_bytes())
    except ValidationError:
        raise StaleArtifactError(
            f"manifest for {project} is unreadable ({rel})", hint=_hint(project)
        ) from None


def _hint(project: str) -> str:
    return f"run make render PROJECT={project} (or make decision first)"


def verify_artifacts(out_dir: Path, project: str, decision_id: str) -> dict[str, str]:
    """Check ``.out/<p>/`` against its manifest; return the artifact texts by name.

    Raises StaleArtifactError naming the first artifact that was edited, added or removed.
    """
    hint = _hint(project)
    manifest = load_manifest(out_dir, project)
    recorded = manifest.artifacts
    if manifest.decision_id != decision_id:
        raise StaleArtifactError(
            f"artifacts of {project} were rendered from another decision", hint=hint
        )
    texts: dict[str, str] = {}
    for name, digest in sorted(recorded.items()):
        artifact = out_dir / name
        if "/" in name or not artifact.is_file():
            raise StaleArtifactError(f"artifact {out_dir.name}/{name} is missing", hint=hint)
        raw = artifact.read_bytes()
        if sha256_hex(raw) != digest:
            raise StaleArtifactError(
                f"artifact {out_dir.name}/{name} was edited after rendering "
                "(its sha256 differs from manifest.json)",
                hint=hint,
            )
        texts[name] = raw.decode("utf-8")
    extra = sorted(
        p.name
        for p in out_dir.iterdir()
        if p.is_file() and p.name not in recorded and p.name not in (MANIFEST_FILE, "decision.json")
    )
    if extra:
        raise StaleArtifactError(
            f"artifact {out_dir.name}/{extra[0]} is not in manifest.json", hint=hint
        )
    return texts
