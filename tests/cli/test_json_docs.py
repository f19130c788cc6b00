"""docs/json-output.md: every example is a JSON document of the documented shape, and
each command's section shows that command's document."""

from __future__ import annotations

import json
import re

from tests.conftest import REPO

DOCS = REPO / "docs" / "json-output.md"
SECTION = re.compile(r"^## `converge (?P<command>[^`]+)`$", re.M)
EXAMPLE = re.compile(r"```json\n(?P<body>.*?)```", re.S)


def test_every_example_is_a_versioned_document_of_its_sections_command() -> None:
    text = DOCS.read_text(encoding="utf-8")
    sections = list(SECTION.finditer(text))
    assert len(sections) > 10
    checked = 0
    for index, section in enumerate(sections):
        end = sections[index + 1].start() if index + 1 < len(sections) else len(text)
        for example in EXAMPLE.finditer(text, section.end(), end):
            document = json.loads(example["body"])
            if "format_version" not in document:
                continue  # a part of a document (a drift item)
            assert document["command"] == section["command"], example["body"]
            assert isinstance(document["ok"], bool)
            if not document["ok"] and "error" in document:
                assert set(document["error"]) >= {"message", "hint", "exit_code"}
            checked += 1
    assert checked >= len(sections) - 1  # `sandbox env` refers to `sandbox serve`'s
