"""Request validation that fails the way Infisical's zod schemas fail.

Request bodies and queries are declared as strict pydantic models (no coercion, unknown
fields ignored, as zod's default ``object`` does). A pydantic ``ValidationError`` is
translated here into the zod issue list the service puts in a 422's ``message``
(``code``, ``expected``/``received``, ``path``, ``message``), so clients that stringify
the body (Terraform does) see the same kind of text as against the real service.
"""

from __future__ import annotations

import json
import types
from typing import Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.requests import Request

from converge_sandbox.infisical.errors import bad_request, validation_failure
from converge_sandbox.jsontype import json_type

M = TypeVar("M", bound=BaseModel)


class WireModel(BaseModel):
    """Base of every request schema: strict types like zod, extra keys dropped."""

    model_config = ConfigDict(strict=True, extra="ignore", populate_by_name=True)


def _annotation_type(annotation: Any) -> str:
    """The zod type name a field annotation stands for (for ``expected``)."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        inner = [a for a in get_args(annotation) if a is not type(None)]
        return _annotation_type(inner[0]) if inner else "null"
    if origin is list or annotation is list:
        return "array"
    if origin is dict or (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        return "object"
    if annotation is bool:
        return "boolean"
    if annotation in (int, float):
        return "number"
    if origin is not None and str(origin).endswith("Literal"):
        return "string"
    return "string"


def _walk(model: type[BaseModel], loc: tuple[int | str, ...]) -> tuple[list[int | str], Any, bool]:
    """Follow ``loc`` through the model: the zod path, the failing field's annotation, and
    whether the failure is inside a union (pydantic adds the member's name to ``loc``)."""
    current: Any = model
    path: list[int | str] = []
    for part in loc:
        if str(part).startswith("function"):
            continue
        origin = get_origin(current)
        if origin in (Union, types.UnionType):
            members = [a for a in get_args(current) if a is not type(None)]
            if len(members) > 1:
                return path, current, True
            current = members[0]
            origin = get_origin(current)
        if isinstance(part, int):
            args = get_args(current)
            current = args[0] if args else Any
        elif isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part)
            current = field.annotation if field is not None else Any
        else:
            current = Any
        path.append(part)
    return path, current, False


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _zod_issue(model: type[BaseModel], err: Any) -> dict[str, Any]:
    path, annotation, in_union = _walk(model, tuple(err["loc"]))
    if in_union:
        return {"code": "invalid_union", "path": path, "message": "Invalid input"}
    kind: str = err["type"]
    ctx: dict[str, Any] = {k: _number(v) for k, v in (err.get("ctx") or {}).items()}
    value = err.get("input")
    expected = _annotation_type(annotation)
    if kind == "missing":
        return {"code": "invalid_type", "expected": expected, "received": "undefined",
                "path": path, "message": "Required"}
    if kind.endswith("_type") or kind in ("model_type", "list_type"):
        received = json_type(value)
        return {"code": "invalid_type", "expected": expected, "received": received,
                "path": path, "message": f"Expected {expected}, received {received}"}
    if kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        return {"code": "too_small", "minimum": bound, "type": "number",
                "inclusive": kind == "greater_than_equal", "exact": False, "path": path,
                "message": f"Number must be greater than or equal to {bound}"}
    if kind in ("less_than_equal", "less_than"):
        bound = ctx.get("le", ctx.get("lt"))
        return {"code": "too_big", "maximum": bound, "type": "number",
                "inclusive": kind == "less_than_equal", "exact": False, "path": path,
                "message": f"Number must be less than or equal to {bound}"}
    if kind in ("string_too_short", "too_short"):
        bound = ctx.get("min_length")
        zod_type = "string" if kind == "string_too_short" else "array"
        unit = "character(s)" if zod_type == "string" else "element(s)"
        return {"code": "too_small", "minimum": bound, "type": zod_type, "inclusive": True,
                "exact": False, "path": path,
                "message": f"{zod_type.capitalize()} must contain at least {bound} {unit}"}
    if kind in ("string_too_long", "too_long"):
        bound = ctx.get("max_length")
        zod_type = "string" if kind == "string_too_long" else "array"
        unit = "character(s)" if zod_type == "string" else "element(s)"
        return {"code": "too_big", "maximum": bound, "type": zod_type, "inclusive": True,
                "exact": False, "path": path,
                "message": f"{zod_type.capitalize()} must contain at most {bound} {unit}"}
    if kind in ("literal_error", "enum"):
        options = [o.strip().strip("'") for o in str(ctx.get("expected", "")).split(" or ")]
        options = [o for part in options for o in part.split(", ") if o]
        shown = " | ".join(f"'{o.strip(chr(39))}'" for o in options)
        return {"code": "invalid_enum_value", "options": [o.strip("'") for o in options],
                "received": value, "path": path,
                "message": f"Invalid enum value. Expected {shown}, received '{value}'"}
    message = str(ctx.get("error") or err.get("msg") or "Invalid input")
    return {"code": "custom", "path": path, "message": message.removeprefix("Value error, ")}


def parse_model(model: type[M], data: Any) -> M:
    """Validate ``data`` against ``model``; raise the service's 422 on failure."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        issues: list[dict[str, Any]] = []
        for error in exc.errors(include_url=False):
            issue = _zod_issue(model, error)
            if issue not in issues:
                issues.append(issue)
        raise validation_failure(issues) from None


async def parse_body(request: Request, model: type[M]) -> M:
    """Read the JSON body (an absent body counts as ``{}``) and validate it."""
    raw = await request.body()
    if not raw.strip():
        data: Any = {}
    else:
        try:
            data = json.loads(raw)
        except ValueError:
            raise bad_request("Body is not valid JSON") from None
    if not isinstance(data, dict):
        raise validation_failure([{"code": "invalid_type", "expected": "object",
                                   "received": json_type(data), "path": [],
                                   "message": f"Expected object, received {json_type(data)}"}])
    return parse_model(model, data)


def parse_query(request: Request, model: type[M]) -> M:
    """Validate the query string; every query value is a string, as on the wire."""
    return parse_model(model, dict(request.query_params))
