"""Management API payloads as they travel on the wire (pydantic), apart from domain models.

Shapes follow the vendor's OpenAPI document (supabase-api.md §1, §2, §4). Every model
ignores fields it does not name: ``AuthConfigResponse`` alone has 237 keys and grows, and a
new one must not break a plan. The auth config itself stays a plain mapping (field name →
JSON value): converge reads only the fields it manages, by name.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ApiKey(_Wire):
    """One ``ApiKeyResponse``. ``api_key`` is ``None`` for a secret key read without
    ``reveal=true``; legacy and publishable keys come back in full."""

    name: str
    api_key: str | None = None
    id: str | None = None
    type: str | None = None
    prefix: str | None = None
    secret_jwt_template: dict[str, Any] | None = None


class ProjectDatabase(_Wire):
    host: str | None = None


class Project(_Wire):
    """``V1ProjectWithDatabaseResponse``: what converge needs of a project."""

    ref: str
    name: str
    region: str | None = None
    status: str | None = None
    database: ProjectDatabase | None = None


class PostgrestConfig(_Wire):
    """``GET /postgrest`` (``V1PostgrestConfigResponse``): the Data API settings of one
    project. ``db_schema`` is the comma-separated list of exposed schemas (it may hold
    spaces; ``""`` means the Data API is off). The response's ``jwt_secret`` is not a field
    here, so it is dropped on parsing and never kept."""

    db_schema: str
    max_rows: int | None = None
    db_extra_search_path: str | None = None
    db_pool: int | None = None

    @property
    def schemas(self) -> tuple[str, ...]:
        """The exposed schemas in the vendor's order (the first is PostgREST's default),
        trimmed, empty entries left out."""
        return split_schemas(self.db_schema)


def split_schemas(value: str) -> tuple[str, ...]:
    """``"public, private"`` → ``("public", "private")`` (supabase-api.md §4)."""
    return tuple(part.strip() for part in value.split(",") if part.strip())


class TableRow(_Wire):
    """One row of the table listing (``sql.LIST_TABLES``)."""

    schema_name: str
    table_name: str
    rls: bool


API_KEYS: TypeAdapter[list[ApiKey]] = TypeAdapter(list[ApiKey])
AUTH_CONFIG: TypeAdapter[dict[str, Any]] = TypeAdapter(dict[str, Any])
ROWS: TypeAdapter[list[dict[str, Any]]] = TypeAdapter(list[dict[str, Any]])
TABLE_ROWS: TypeAdapter[list[TableRow]] = TypeAdapter(list[TableRow])
