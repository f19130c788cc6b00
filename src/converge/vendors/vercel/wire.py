"""Vercel's env-var payloads as they travel on the wire (pydantic), apart from domain models.

Field names follow ``@vercel/sdk`` 1.28.35 (vercel-api.md §1): camelCase on the wire,
snake_case here. Every model ignores fields it does not name, because Vercel adds response
fields often (``visibility``, ``securityIssues``, ``contentHint`` kinds …) and a new one
must not break a plan. ``target`` may come back as a single string; it is normalised to a
list here, once.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel


class _Wire(BaseModel):
    model_config = ConfigDict(
        extra="ignore", frozen=True, alias_generator=to_camel, populate_by_name=True
    )


class EnvVar(_Wire):
    """One env var as list, create, edit and delete return it.

    ``value`` is plaintext only for ``plain`` vars on ``/v10``; for ``encrypted`` and
    ``sensitive`` ones it is an opaque ciphertext that changes whenever the value does.
    """

    id: str
    key: str
    type: str
    value: str | None = None
    target: list[str] = Field(default_factory=list)
    git_branch: str | None = None
    custom_environment_ids: list[str] = Field(default_factory=list)
    comment: str | None = None
    created_at: int | None = None
    updated_at: int | None = None

    @field_validator("target", mode="before")
    @classmethod
    def _target_list(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        return value

    @field_validator("custom_environment_ids", mode="before")
    @classmethod
    def _custom_list(cls, value: Any) -> Any:
        return [] if value is None else value


class Pagination(_Wire):
    count: int = 0
    next: int | None = None
    prev: int | None = None


class EnvList(_Wire):
    """``GET /v10/projects/{id}/env``: ``envs`` plus optional ``pagination``."""

    envs: list[EnvVar] = Field(default_factory=list)
    pagination: Pagination | None = None
    hidden_production_env_count: int | None = None


class ErrorObject(_Wire):
    """The ``error`` member of an error body or of a ``failed[]`` item."""

    model_config = ConfigDict(extra="allow", frozen=True, alias_generator=to_camel,
                              populate_by_name=True)
    code: str = ""
    message: str = ""
    key: str | None = None
    env_var_id: str | None = None
    target: list[str] | str | None = None


class FailedItem(_Wire):
    error: ErrorObject


class CreateResult(_Wire):
    """``POST /v10/projects/{id}/env`` with an array body: what was created, what failed."""

    created: list[EnvVar] = Field(default_factory=list)
    failed: list[FailedItem] = Field(default_factory=list)

    @field_validator("created", mode="before")
    @classmethod
    def _created_list(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, dict):
            return [value]
        return value


class NewEnvVar(_Wire):
    """One item of a create (or upsert) body. ``value`` may be a secret: never log this."""

    key: str
    value: str
    type: str
    target: list[str]
    comment: str | None = None

    def to_body(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)
