"""The type name of a parsed JSON value as the vendors' validators (zod) print it, e.g. in
``Expected object, received array``. Shared by the emulators, which never import each
other."""

from __future__ import annotations


def json_type(value: object) -> str:
    """``null``, ``boolean``, ``number``, ``string``, ``array`` or ``object``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
