"""Read one workspace YAML file safely, remembering where every value came from.

Why not ``yaml.safe_load``: users need ``file:line:column`` on every error, duplicate keys
must be refused (a silent last-one-wins hides mistakes), and a file from a pull request
must not be able to exhaust memory (alias bombs, huge files) or escape the workspace
through a symlink. PyYAML's libyaml composer builds the node graph (fast, with marks);
this module turns nodes into plain Python values plus a location table, resolving plain
scalars by the YAML 1.2 core schema (so ``yes``, ``on`` and ``0755`` stay what they say).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.error import MarkedYAMLError, YAMLError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from converge.errors import ConfigError, Location

MAX_FILE_BYTES = 1024 * 1024
MAX_EXPANDED_NODES = 20_000
MAX_DEPTH = 64

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class SourceFile:
    """A loaded YAML file: plain data, the sha256 of its bytes, and value locations."""

    path: str
    data: Any
    digest: str
    positions: dict[PathKey, tuple[int, int]] = field(default_factory=dict, repr=False)

    def locate(self, path: PathKey = ()) -> Location:
        """The location of the deepest part of ``path`` present in the file.

        Path parts that do not exist in the data (pydantic's union tags, a missing key)
        are skipped, so an error about a missing field points at its parent mapping.
        """
        node: Any = self.data
        matched: PathKey = ()
        for part in path:
            if _has(node, part):
                node = node[part]
                matched = (*matched, part)
        line, column = self.positions.get(matched, (1, 1))
        return Location(self.path, line, column)


def _has(node: Any, part: str | int) -> bool:
    if isinstance(node, dict):
        return isinstance(part, str) and part in node
    if isinstance(node, list):
        return isinstance(part, int) and 0 <= part < len(node)
    return False


def read_yaml(path: Path, *, workspace: Path, required: bool = True) -> SourceFile | None:
    """Load ``path`` (inside ``workspace``) or raise one ConfigError naming file and line."""
    rel = _relative(path, workspace)
    if (path.exists() or path.is_symlink()) and not _inside(path.resolve(), workspace.resolve()):
        raise ConfigError(
            "symlink leads outside the workspace",
            location=Location(rel),
            hint="copy the file into the workspace instead of linking to it",
        )
    if not path.exists():
        if not required:
            return None
        raise ConfigError("required file is missing", location=Location(rel))
    if not path.is_file():
        raise ConfigError("expected a file, found something else", location=Location(rel))
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ConfigError(
            f"file is {size} bytes; the limit is {MAX_FILE_BYTES} (1 MiB)",
            location=Location(rel),
        )
    raw = path.read_bytes()
    return parse_yaml(raw, rel)


def parse_yaml(raw: bytes, rel: str) -> SourceFile:
    """Parse YAML bytes named ``rel``; every problem is a ConfigError with a location."""
    # CRLF from a Windows checkout must not make a decision stale on another machine.
    digest = hashlib.sha256(raw.replace(b"\r\n", b"\n")).hexdigest()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError("file is not valid UTF-8", location=Location(rel, line, column)) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    _refuse_tab_indentation(text, rel)
    node = _compose(text, rel)
    builder = _Builder(rel)
    data = builder.build(node, ()) if node is not None else None
    return SourceFile(path=rel, data=data, digest=digest, positions=builder.positions)


def _refuse_tab_indentation(text: str, rel: str) -> None:
    for number, line in enumerate(text.split("\n"), start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent and line.strip() and not line.lstrip().startswith("#"):
            raise ConfigError(
                "tab character in indentation; YAML allows only spaces",
                location=Location(rel, number, indent.index("\t") + 1),
            )


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose(text: str, rel: str) -> Node | None:
    try:
        nodes = list(yaml.compose_all(text, Loader=_LOADER))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Location(rel, mark.line + 1, mark.column + 1) if mark else Location(rel)
        problem = (exc.problem or exc.context or "malformed YAML").strip()
        raise ConfigError(f"malformed YAML: {problem}", location=loc) from None
    except YAMLError as exc:
        raise ConfigError(f"malformed YAML: {type(exc).__name__}", location=Location(rel)) from None
    except RecursionError:
        raise ConfigError("YAML nesting is too deep", location=Location(rel)) from None
    if len(nodes) > 1:
        second = nodes[1].start_mark
        raise ConfigError(
            "file holds more than one YAML document",
            location=Location(rel, second.line + 1, second.column + 1),
        )
    return nodes[0] if nodes else None


# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution)
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT10 = re.compile(r"^[-+]?[0-9]+$")
_INT8 = re.compile(r"^0o[0-7]+$")
_INT16 = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(?:inf|Inf|INF)$")
_NAN = re.compile(r"^\.(?:nan|NaN|NAN)$")
_STANDARD_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "timestamp", "value")
)


def resolve_plain(value: str) -> Any:
    """A plain (unquoted) scalar by the YAML 1.2 core schema."""
    if _NULL.match(value):
        return None
    if _BOOL.match(value):
        return value.lower() == "true"
    if _INT10.match(value):
        return int(value, 10)
    if _INT8.match(value):
        return int(value[2:], 8)
    if _INT16.match(value):
        return int(value[2:], 16)
    if _FLOAT.match(value):
        return float(value)
    if _INF.match(value):
        return float("-inf") if value.startswith("-") else float("inf")
    if _NAN.match(value):
        return float("nan")
    return value


class _Builder:
    """Turns a composed node graph into plain values, checking keys, tags and size."""

    def __init__(self, rel: str):
        self.rel = rel
        self.positions: dict[PathKey, tuple[int, int]] = {(): (1, 1)}
        self.expanded = 0
        self.seen_nodes: set[int] = set()

    def _loc(self, node: Node) -> Location:
        return Location(self.rel, node.start_mark.line + 1, node.start_mark.column + 1)

    def build(
        self, node: Node, path: PathKey, depth: int = 0, stack: frozenset[int] = frozenset()
    ) -> Any:
        self.expanded += 1
        if self.expanded > MAX_EXPANDED_NODES:
            raise ConfigError(
                f"YAML expands to more than {MAX_EXPANDED_NODES} values (alias bomb?)",
                location=self._loc(node),
            )
        if depth > MAX_DEPTH:
            raise ConfigError("YAML nesting is too deep", location=self._loc(node))
        if id(node) in stack:
            raise ConfigError("recursive YAML alias", location=self._loc(node))
        if path not in self.positions:
            self.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, ScalarNode):
            return self._scalar(node)
        inner = stack | {id(node)}
        if isinstance(node, SequenceNode):
            self._check_tag(node, "tag:yaml.org,2002:seq")
            return [
                self.build(item, (*path, i), depth + 1, inner) for i, item in enumerate(node.value)
            ]
        if isinstance(node, MappingNode):
            self._check_tag(node, "tag:yaml.org,2002:map")
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = self._key(key_node)
                if key in result:
                    raise ConfigError(f"duplicate key '{key}'", location=self._loc(key_node))
                child = (*path, key)
                self.positions[child] = (
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                )
                result[key] = self.build(value_node, child, depth + 1, inner)
            return result
        raise ConfigError("unsupported YAML node", location=self._loc(node))

    def _key(self, node: Node) -> str:
        if not isinstance(node, ScalarNode):
            raise ConfigError("mapping keys must be plain strings", location=self._loc(node))
        if node.value == "<<" and not node.style:
            raise ConfigError("YAML merge keys (<<) are not supported", location=self._loc(node))
        value = self._scalar(node)
        if isinstance(value, bool) or value is None:
            raise ConfigError("mapping keys must be plain strings", location=self._loc(node))
        return str(value)

    def _check_tag(self, node: Node, expected: str) -> None:
        if node.tag is not None and str(node.tag) != expected:
            raise ConfigError(f"unsupported YAML tag {node.tag}", location=self._loc(node))

    def _scalar(self, node: ScalarNode) -> Any:
        tag = str(node.tag)
        value: str = node.value
        if tag not in _STANDARD_TAGS:
            raise ConfigError(f"unsupported YAML tag {tag}", location=self._loc(node))
        if not node.style:  # plain scalar ('' from libyaml, None from the Python composer)
            return resolve_plain(value)
        return value


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def _relative(path: Path, workspace: Path) -> str:
    try:
        return path.relative_to(workspace).as_posix()
    except ValueError:
        return path.name
