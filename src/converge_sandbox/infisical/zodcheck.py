"""A few zod combinators, enough to validate a body the way the service's zod schemas do
and to answer with the issues zod would list.

Each check takes a value and its path and returns a ``Parsed``: the parsed value, the
issues, and zod's status. A failed refinement is *dirty* (the value parsed, a rule did
not hold), anything else *invalid*; a union takes its first valid branch, else its first
dirty one, else answers one ``invalid_union`` issue carrying every branch's issues as
``unionErrors`` (serialised ZodErrors: ``{"issues", "name"}``). Objects drop unknown keys,
as ``z.object`` does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from converge_sandbox.jsontype import json_type

Issue = dict[str, Any]
Path = list[int | str]
VALID, DIRTY, INVALID = "valid", "dirty", "invalid"


@dataclass
class Parsed:
    """A combinator's outcome: the parsed value, its issues and zod's status."""

    value: Any
    issues: list[Issue]
    status: str


Check = Callable[[Any, Path], Parsed]


def join_options(options: tuple[str, ...]) -> str:
    """How zod lists allowed values: ``'a' | 'b'``."""
    return " | ".join(f"'{o}'" for o in options)


MISSING = object()


def invalid_type(expected: str, value: Any, path: Path) -> Parsed:
    received = "undefined" if value is MISSING else json_type(value)
    message = "Required" if received == "undefined" else f"Expected {expected}, received {received}"
    return Parsed(None, [{"code": "invalid_type", "expected": expected, "received": received,
                          "path": path, "message": message}], INVALID)


def string() -> Check:
    def check(value: Any, path: Path) -> Parsed:
        if not isinstance(value, str):
            return invalid_type("string", value, path)
        return Parsed(value, [], VALID)
    return check


def refined_string(predicate: Callable[[str], bool], message: str) -> Check:
    """``z.string().refine(predicate, message)``: a failed refinement is dirty, not invalid."""
    def check(value: Any, path: Path) -> Parsed:
        if not isinstance(value, str):
            return invalid_type("string", value, path)
        if not predicate(value):
            return Parsed(value, [{"code": "custom", "message": message, "path": path}], DIRTY)
        return Parsed(value, [], VALID)
    return check


def string_array(element: Check | None = None) -> Check:
    inner = element or string()

    def check(value: Any, path: Path) -> Parsed:
        if not isinstance(value, list):
            return invalid_type("array", value, path)
        return elements(inner, value, path, minimum=0)
    return check


def elements(inner: Check, value: list[Any], path: Path, *, minimum: int) -> Parsed:
    issues: list[Issue] = []
    out: list[Any] = []
    status = VALID
    if len(value) < minimum:
        issues.append({"code": "too_small", "minimum": minimum, "type": "array",
                       "inclusive": True, "exact": False, "path": path,
                       "message": f"Array must contain at least {minimum} element(s)"})
        status = DIRTY
    for index, item in enumerate(value):
        parsed = inner(item, [*path, index])
        issues += parsed.issues
        out.append(parsed.value)
        if parsed.status == INVALID:
            status = INVALID
        elif parsed.status == DIRTY and status == VALID:
            status = DIRTY
    return Parsed(out, issues, status)


def enum(options: tuple[str, ...]) -> Check:
    """``z.nativeEnum``/``z.enum``: a non-string is ``invalid_type`` naming the values as
    the expected type, an unknown string ``invalid_enum_value``."""
    def check(value: Any, path: Path) -> Parsed:
        if not isinstance(value, str):
            return invalid_type(join_options(options), value, path)
        if value not in options:
            message = (f"Invalid enum value. Expected {join_options(options)}, "
                       f"received '{value}'")
            return Parsed(None, [{"received": value, "code": "invalid_enum_value",
                                  "options": list(options), "path": path,
                                  "message": message}], INVALID)
        return Parsed(value, [], VALID)
    return check


def union(*branches: Check) -> Check:
    """zod's union: the first valid branch wins, else the first dirty one, else one
    ``invalid_union`` issue carrying every branch's issues."""
    def check(value: Any, path: Path) -> Parsed:
        results = [branch(value, path) for branch in branches]
        for result in results:
            if result.status == VALID:
                return result
        for result in results:
            if result.status == DIRTY:
                return result
        return Parsed(None, [{"code": "invalid_union",
                              "unionErrors": [{"issues": r.issues, "name": "ZodError"}
                                              for r in results],
                              "path": path, "message": "Invalid input"}], INVALID)
    return check


def partial_object(fields: dict[str, Check]) -> Check:
    """``z.object({...}).partial()``: unknown keys are dropped, known ones optional."""
    def check(value: Any, path: Path) -> Parsed:
        if not isinstance(value, dict):
            return invalid_type("object", value, path)
        out: dict[str, Any] = {}
        issues: list[Issue] = []
        status = VALID
        for key, field_check in fields.items():
            if key not in value:
                continue
            parsed = field_check(value[key], [*path, key])
            issues += parsed.issues
            out[key] = parsed.value
            if parsed.status == INVALID:
                status = INVALID
            elif parsed.status == DIRTY and status == VALID:
                status = DIRTY
        return Parsed(out, issues, status)
    return check
