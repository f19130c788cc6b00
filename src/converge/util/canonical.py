"""Byte-stable serialisation: the same data gives the same bytes on every machine.

Artifacts, decisions and manifests are compared and hashed, so their bytes must not depend
on dict order, locale, line endings or the YAML emitter's line width.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import yaml


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


def canonical_yaml(data: Any) -> str:
    """Block-style YAML with sorted keys, no line wrapping, LF endings.

    The pure-Python emitter is used on purpose: libyaml's emitter is faster but its
    presence varies by machine, and the bytes must not.
    """
    text: str = yaml.dump(
        data,
        Dumper=yaml.SafeDumper,
        sort_keys=True,
        default_flow_style=False,
        allow_unicode=True,
        width=1_000_000,
        line_break="\n",
    )
    return text
