"""Write workspace YAML that ``yamlfile`` reads back as exactly the same data.

Why not ``util.canonical.canonical_yaml``: artifacts sort their keys because their bytes
are hashed; a workspace file is read and edited by people, so keys keep the order the
writer chose (``name`` before ``targets`` before ``environments``), and short lists of
plain values are written inline (``environments: [prod, preview]``) as the example
workspace writes them.

Why quoting is done here: ``yamlfile`` resolves unquoted scalars by the YAML 1.2 core
schema, PyYAML's emitter quotes by YAML 1.1. The two disagree (``0o17`` and ``1e3`` are
text to 1.1 and numbers to 1.2), so every string that would not read back as itself is
written in double quotes. ``dump_workspace_yaml`` checks the round trip before it returns.
"""

from __future__ import annotations

from typing import Any

import yaml

from converge.config.yamlfile import parse_yaml, resolve_plain

INLINE_LIST_WIDTH = 80  # a list of plain values longer than this is written one per line


class _WorkspaceDumper(yaml.SafeDumper):  # type: ignore[misc]  # PyYAML is untyped
    """SafeDumper with insertion-ordered mappings, YAML 1.2-safe strings, inline lists,
    and block lists indented under their key (as the example workspace writes them)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    resolved = resolve_plain(value)
    reads_back = isinstance(resolved, str) and resolved == value
    return dumper.represent_scalar("tag:yaml.org,2002:str", value,
                                   style=None if reads_back else '"')


def _is_plain(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _represent_list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.SequenceNode:
    inline = all(_is_plain(v) for v in value) and len(repr(value)) <= INLINE_LIST_WIDTH
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=inline)


def _represent_dict(dumper: yaml.SafeDumper, value: dict[str, Any]) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", value.items(), flow_style=False)


_WorkspaceDumper.add_representer(str, _represent_str)
_WorkspaceDumper.add_representer(list, _represent_list)
_WorkspaceDumper.add_representer(dict, _represent_dict)


def dump_workspace_yaml(data: dict[str, Any], *, header: str = "") -> str:
    """``data`` as a workspace YAML document (keys in the given order), after ``header``
    (lines written as ``#`` comments). Raises ValueError if the text would not read back
    as ``data`` (a type YAML cannot carry, a float NaN)."""
    body: str = yaml.dump(
        data,
        Dumper=_WorkspaceDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1_000_000,
        line_break="\n",
    )
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    text = comment + body
    if parse_yaml(text.encode("utf-8"), "<generated>").data != data:
        raise ValueError("the generated YAML does not read back as the data it was made from")
    return text
