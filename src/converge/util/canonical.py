"""Byte-stable serialisation: the same data gives the same bytes on every machine.

Artifacts, decisions and manifests are compared and hashed, so their bytes must not depend
on dict order, locale, line endings or the YAML emitter's line width.
"""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

from ruamel.yaml import YAML


def canonical_json(data: Any) -> str:
    """Indented JSON with sorted keys and a final newline (for files people read)."""
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def compact_json(data: Any) -> str:
    """Sorted, whitespace-free JSON: the form that content hashes are taken over."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def content_id(data: Any) -> str:
    """``sha256:<hex>`` of the compact JSON form of ``data``."""
    return "sha256:" + sha256_hex(compact_json(data))


def _sorted(data: Any) -> Any:
    if isinstance(data, dict):
        return {key: _sorted(data[key]) for key in sorted(data)}
    if isinstance(data, (list, tuple)):
        return [_sorted(item) for item in data]
    return data


def canonical_yaml(data: Any) -> str:
    """Block-style YAML with sorted keys, no line wrapping, LF endings."""
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.width = 1_000_000
    yaml.allow_unicode = True
    yaml.sort_base_mapping_type_on_output = True  # type: ignore[assignment]
    buffer = io.StringIO()
    yaml.dump(_sorted(data), buffer)
    return buffer.getvalue().replace("\r\n", "\n")
