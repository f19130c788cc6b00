"""JSON Schema for each input file kind and each artifact kind, generated from the
pydantic models.

Committed under ``schemas/`` so editors running yaml-language-server complete and check
workspace files, and so tools outside converge can read ``.out/<p>/`` without guessing its
shape; a test keeps the committed files equal to the models.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from converge.artifacts import ARTIFACT_KINDS
from converge.config.models import (
    IdentitiesFile,
    Project,
    RolesFile,
    SupabaseFile,
    VercelFile,
    WaiversFile,
    WorkspaceSettings,
)
from converge.util.canonical import canonical_json

SCHEMA_BASE = "https://converge.dev/schemas"

INPUT_KINDS: dict[str, tuple[type[BaseModel], str]] = {
    "converge": (WorkspaceSettings, "converge.yaml"),
    "project": (Project, "projects/<p>/project.yaml"),
    "identities": (IdentitiesFile, "projects/<p>/identities.yaml"),
    "waivers": (WaiversFile, "projects/<p>/waivers.yaml"),
    "roles": (RolesFile, "data/infisical/<p>/roles.yaml"),
    "vercel": (VercelFile, "data/platforms/vercel/<p>.yaml"),
    "supabase": (SupabaseFile, "data/platforms/supabase/<p>.yaml"),
}


def input_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema document for every input kind."""
    return {
        f"{kind}.schema.json": _schema(kind, model, f"converge input file {where}")
        for kind, (model, where) in INPUT_KINDS.items()
    }


def artifact_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema document for every artifact kind (what render writes)."""
    return {
        f"{kind}.schema.json": _schema(kind, model, f"converge artifact {where}")
        for kind, (model, where) in ARTIFACT_KINDS.items()
    }


def _schema(kind: str, model: type[BaseModel], description: str) -> dict[str, Any]:
    schema = model.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"{SCHEMA_BASE}/{kind}.schema.json"
    schema["description"] = description
    return schema


def write_schemas(directory: Path, *, check: bool = False) -> list[str]:
    """Write (or with ``check`` only compare) the schema files; return the names that differ."""
    changed: list[str] = []
    for name, schema in {**input_schemas(), **artifact_schemas()}.items():
        text = canonical_json(schema)
        path = directory / name
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        changed.append(name)
        if not check:
            directory.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
    return changed
