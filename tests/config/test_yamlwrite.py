"""Workspace YAML written by converge reads back as the very data it was made from."""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from converge.config.yamlfile import parse_yaml
from converge.config.yamlwrite import dump_workspace_yaml

TEXT = st.text(alphabet=string.printable + "é€…", max_size=16)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), TEXT)
documents: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(string.ascii_letters + "_", min_size=1, max_size=8), inner,
                        max_size=4),
    ),
    max_leaves=20,
)


@given(st.dictionaries(st.text(string.ascii_letters, min_size=1, max_size=8), documents,
                       max_size=5))
def test_any_document_reads_back_as_itself(data: dict[str, Any]) -> None:
    text = dump_workspace_yaml(data, header="a header")
    assert parse_yaml(text.encode(), "f.yaml").data == data


@pytest.mark.parametrize("value", ["0o17", "1e3", "0x1F", ".inf", "true", "null", "0.25",
                                   "3600", "~", "", "yes", "on"])
def test_strings_that_yaml_1_2_reads_as_something_else_are_quoted(value: str) -> None:
    text = dump_workspace_yaml({"value": value})
    assert parse_yaml(text.encode(), "f.yaml").data == {"value": value}


def test_keys_keep_their_order_and_short_lists_are_inline() -> None:
    text = dump_workspace_yaml({
        "name": "journal", "targets": {"vercel": {"team": "acme", "project": "web"}},
        "roles": [{"name": "runtime", "actions": ["read", "describe"]}],
    }, header="Written by converge import")
    assert text == (
        "# Written by converge import\n"
        "name: journal\n"
        "targets:\n"
        "  vercel:\n"
        "    team: acme\n"
        "    project: web\n"
        "roles:\n"
        "  - name: runtime\n"
        "    actions: [read, describe]\n"
    )
