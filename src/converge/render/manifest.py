"""The manifest binds rendered artifacts to the decision they came from (architecture §1, §3).

A record, not a credential: anyone can edit an artifact and its sha256 here together.
``plan`` and ``apply`` trust the folder only when it is byte-identical to a fresh render
(``engine.trust``); the checks here name the file a person edited when it is not.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from converge.artifacts.contract import Manifest, ManifestBody
from converge.artifacts.wire import API_VERSION
from converge.errors import StaleArtifactError
from converge.util.canonical import content_id, sha256_hex

MANIFEST_FILE = "manifest.json"


def manifest_document(project: str, decision_id: str, artifacts: dict[str, str]) -> Manifest:
    """The manifest of ``artifacts`` (file name -> text), signed by its digest."""
    body = ManifestBody(
        apiVersion=API_VERSION,
        kind="Manifest",
        project=project,
        decision_id=decision_id,
        artifacts={name: sha256_hex(text) for name, text in sorted(artifacts.items())},
    )
    wire = body.to_wire()
    return Manifest.model_validate({**wire, "digest": content_id(wire)})


def build_manifest(project: str, decision_id: str, artifacts: dict[str, str]) -> str:
    """Manifest text for ``artifacts`` (file name -> text)."""
    return manifest_document(project, decision_id, artifacts).to_json()


def load_manifest(out_dir: Path, project: str) -> Manifest:
    """Read ``.out/<p>/manifest.json``; a missing or malformed one is a StaleArtifactError."""
    path = out_dir / MANIFEST_FILE
    rel = f"{out_dir.name}/{MANIFEST_FILE}"
    if not path.is_file():
        raise StaleArtifactError(
            f"no manifest for {project}: {rel} is missing", hint=render_hint(project)
        )
    return parse_manifest(path.read_bytes(), project, rel)


def parse_manifest(data: bytes, project: str, rel: str) -> Manifest:
    """The manifest in ``data`` (the file ``rel``); unreadable is a StaleArtifactError."""
    try:
        return Manifest.model_validate_json(data)
    except ValidationError:
        raise StaleArtifactError(
            f"manifest for {project} is unreadable ({rel})", hint=render_hint(project)
        ) from None


def render_hint(project: str) -> str:
    return f"run make render PROJECT={project} (or make decision first)"


def check_manifest(
    manifest: Manifest, files: dict[str, bytes], *, project: str, decision_id: str, rel: str
) -> None:
    """Check the files of a folder (name -> bytes; ``rel`` is the folder as the user
    names it, e.g. ``.out/journal``) against its manifest: the same decision, every
    artifact's sha256 as recorded, none missing or added. Raises StaleArtifactError
    naming the first file a person edited, added or removed.

    This names what was edited; it proves nothing by itself (the manifest is as easy to
    edit as an artifact): ``engine.trust`` compares the folder with a fresh render.
    """
    hint = render_hint(project)
    recorded = manifest.artifacts
    if manifest.decision_id != decision_id:
        raise StaleArtifactError(
            f"artifacts of {project} were rendered from another decision", hint=hint
        )
    for name, digest in sorted(recorded.items()):
        raw = files.get(name)
        if "/" in name or raw is None:
            raise StaleArtifactError(f"artifact {rel}/{name} is missing", hint=hint)
        if sha256_hex(raw) != digest:
            raise StaleArtifactError(
                f"artifact {rel}/{name} was edited after rendering "
                "(its sha256 differs from manifest.json)",
                hint=hint,
            )
    extra = sorted(set(files) - set(recorded) - {MANIFEST_FILE, "decision.json"})
    if extra:
        raise StaleArtifactError(f"artifact {rel}/{extra[0]} is not in manifest.json", hint=hint)


def check_digest(manifest: Manifest, *, project: str, rel: str) -> None:
    """Refuse a manifest whose ``digest`` is not the content hash of its other fields."""
    wire = manifest.to_wire()
    claimed = wire.pop("digest")
    if claimed != content_id(wire):
        raise StaleArtifactError(
            f"manifest for {project} was edited by hand: its digest does not match its "
            f"content ({rel}/{MANIFEST_FILE})",
            hint=render_hint(project),
        )


def verify_artifacts(out_dir: Path, project: str, decision_id: str) -> dict[str, str]:
    """Check ``out_dir`` against its manifest (``check_manifest``); return the artifact
    texts by name."""
    manifest = load_manifest(out_dir, project)
    files = {p.name: p.read_bytes() for p in out_dir.iterdir() if p.is_file()}
    check_manifest(manifest, files, project=project, decision_id=decision_id, rel=out_dir.name)
    check_digest(manifest, project=project, rel=out_dir.name)
    return {
        name: data.decode("utf-8")
        for name, data in files.items()
        if name in manifest.artifacts
    }
