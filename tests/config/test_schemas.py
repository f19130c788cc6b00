"""The committed JSON Schemas match the models and accept the example workspace and its
committed artifacts; schema and model refuse the same bad artifacts."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pydantic
import pytest
import yaml

from converge.artifacts import ARTIFACT_KINDS
from converge.config.schemas import INPUT_KINDS, artifact_schemas, input_schemas, write_schemas
from converge.config.yamlfile import parse_yaml
from tests.conftest import EXAMPLE_WORKSPACE, REPO

SCHEMAS = REPO / "schemas"


def test_committed_schemas_are_up_to_date() -> None:
    assert write_schemas(SCHEMAS, check=True) == [], "run: make schema"


def _files_of(kind: str) -> list[Path]:
    where = INPUT_KINDS[kind][1].replace("<p>", "*")
    return sorted(EXAMPLE_WORKSPACE.glob(where))


@pytest.mark.parametrize("kind", sorted(INPUT_KINDS))
def test_example_files_validate_against_the_schema(kind: str) -> None:
    schema = json.loads((SCHEMAS / f"{kind}.schema.json").read_text())
    files = _files_of(kind)
    assert files, kind
    for path in files:
        data = parse_yaml(path.read_bytes(), path.name).data
        jsonschema.validate(data, schema)


def test_schema_rejects_unknown_keys() -> None:
    schema = input_schemas()["identities.schema.json"]
    bad = {
        "identities": [{"name": "x", "environment": "prod", "auth": {"universal": {}}, "rolez": []}]
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


# --- artifacts (.out/<p>/): one schema per kind, from the models render and the engine share


def _artifacts_of(kind: str) -> list[Path]:
    where = re.sub(r"<[^>]+>", "*", ARTIFACT_KINDS[kind][1])
    return sorted(EXAMPLE_WORKSPACE.glob(where))


def _load(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    return yaml.safe_load(text) if path.suffix == ".yaml" else json.loads(text)


def test_every_committed_artifact_has_a_kind() -> None:
    committed = {p for p in EXAMPLE_WORKSPACE.glob(".out/*/*") if p.is_file()}
    assert committed
    covered = {p for kind in ARTIFACT_KINDS for p in _artifacts_of(kind)}
    assert committed == covered


@pytest.mark.parametrize("kind", sorted(ARTIFACT_KINDS))
def test_committed_artifacts_validate_against_the_schema_and_the_model(kind: str) -> None:
    schema = json.loads((SCHEMAS / f"{kind}.schema.json").read_text())
    model = ARTIFACT_KINDS[kind][0]
    files = _artifacts_of(kind)
    assert files, kind
    for path in files:
        data = _load(path)
        jsonschema.validate(data, schema)
        model.model_validate(data)


@pytest.mark.parametrize("kind", sorted(ARTIFACT_KINDS))
def test_the_model_writes_back_the_committed_bytes(kind: str) -> None:
    """Reading a committed artifact and writing it again gives the same bytes: the model
    is exactly the format, nothing dropped, nothing added."""
    model = ARTIFACT_KINDS[kind][0]
    for path in _artifacts_of(kind):
        text = path.read_text(encoding="utf-8")
        loaded = model.model_validate(_load(path))
        assert (loaded.to_yaml() if path.suffix == ".yaml" else loaded.to_json()) == text


def _edit(path: tuple[str | int, ...], value: Any) -> Callable[[Any], None]:
    def mutate(doc: Any) -> None:
        for key in path[:-1]:
            doc = doc[key]
        doc[path[-1]] = value

    return mutate


BAD_ARTIFACTS: dict[str, tuple[str, str, Callable[[Any], None]]] = {
    # case: (kind, file under examples/workspace/.out, edit)
    "role: unknown top-level key": (
        "artifact-project-role", "journal/ProjectRole_ci_prod.yaml", _edit(("status",), {})
    ),
    "role: unknown key in a permission": (
        "artifact-project-role",
        "journal/ProjectRole_ci_prod.yaml",
        _edit(("spec", "permissions", 0, "action"), ["read"]),
    ),
    "identity: string TTL": (
        "artifact-machine-identity",
        "journal/identity_ci@github-prod.yaml",
        _edit(("spec", "auth", "universal", "accessTokenTTL"), "900"),
    ),
    "identity: boolean uses limit": (
        "artifact-machine-identity",
        "journal/identity_ci@github-prod.yaml",
        _edit(("spec", "auth", "universal", "accessTokenNumUsesLimit"), True),
    ),
    "binding: number for a name": (
        "artifact-identity-binding",
        "journal/binding_ci-ci-binding.yaml",
        _edit(("spec", "role"), 1),
    ),
    "vercel: unknown variable key": (
        "artifact-vercel-env", "journal/vercel-env.json", _edit(("variables", 0, "secret"), "x")
    ),
    "vercel: boolean rotate": (
        "artifact-vercel-env", "journal/vercel-env.json", _edit(("variables", 0, "rotate"), True)
    ),
    "supabase: string jwt_exp": (
        "artifact-supabase-config",
        "journal/supabase-config.json",
        _edit(("auth", "jwt_exp"), "3600"),
    ),
    "supabase: unknown key": (
        "artifact-supabase-config", "journal/supabase-config.json", _edit(("storage",), {})
    ),
    "manifest: number for a digest": (
        "manifest", "journal/manifest.json", _edit(("artifacts", "vercel-env.json"), 1)
    ),
    "manifest: unknown key": ("manifest", "journal/manifest.json", _edit(("signed",), True)),
    "decision: unknown verdict": ("decision", "journal/decision.json", _edit(("verdict",), "ok")),
    "decision: boolean location": (
        "decision", "journal/decision.json", _edit(("results", 0, "location"), False)
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_ARTIFACTS))
def test_schema_and_model_both_reject_a_bad_artifact(case: str) -> None:
    kind, name, mutate = BAD_ARTIFACTS[case]
    schema = artifact_schemas()[f"{kind}.schema.json"]
    model = ARTIFACT_KINDS[kind][0]
    doc = _load(EXAMPLE_WORKSPACE / ".out" / name)
    model.model_validate(doc)  # the unedited file is fine
    mutate(doc)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema)
    with pytest.raises(pydantic.ValidationError):
        model.model_validate(doc)
