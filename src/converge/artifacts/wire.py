"""The base every artifact model shares, and how a model becomes artifact bytes.

Strict on purpose: an artifact is written by render and read back by the engine, so the
reader takes exactly what the writer emits. No coercion (``"3600"`` is not a number,
``true`` is not one either), no unknown keys, no snake_case stand-ins for camelCase wire
names. The bytes go through util/canonical, so sorted keys and the emitter settings keep
every file byte-identical across machines.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from converge.util.canonical import canonical_json, canonical_yaml

ApiVersion = Literal["converge.dev/v1"]
API_VERSION: ApiVersion = "converge.dev/v1"

# A content hash as the manifest and the decision record it: ``sha256:<hex>`` for a
# document's id, bare hex for a file's digest.
CONTENT_ID_PATTERN = r"^sha256:[0-9a-f]{64}$"
SHA256_HEX_PATTERN = r"^[0-9a-f]{64}$"


def absent_when_none(value: object) -> bool:
    """``exclude_if`` for keys that are left out of the file rather than written as null."""
    return value is None


def absent_when_false(value: object) -> bool:
    """``exclude_if`` for flags written only when set, so files rendered before the flag
    existed stay byte-identical."""
    return value is False


class Wire(BaseModel):
    """One artifact document or a part of one."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    def to_wire(self) -> dict[str, Any]:
        """The document as it is written: wire (camelCase) names, JSON types, keys sorted
        at every level, so it equals what reading the file back gives, key order included."""
        data: dict[str, Any] = _sorted(self.model_dump(mode="json", by_alias=True))
        return data

    def to_yaml(self) -> str:
        return canonical_yaml(self.to_wire())

    def to_json(self) -> str:
        return canonical_json(self.to_wire())


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value
