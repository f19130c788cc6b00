"""The committed JSON Schemas match the models and accept the example workspace."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from converge.config.schemas import INPUT_KINDS, input_schemas, write_schemas
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
