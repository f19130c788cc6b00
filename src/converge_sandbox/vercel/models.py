"""The documents the Vercel emulator stores, and the vocabulary they use.

These are storage models, not wire models: an ``EnvRecord`` keeps the plaintext value so
that the emulator can answer decrypted reads (``/v3/env/pull``, ``/v8 ?decrypt=true``,
get-one) and hide it everywhere else. ``wire.py`` decides what each endpoint shows.

Store layout (vendor ``"vercel"``):

======== ========================= ==========================
kind     key                       document
======== ========================= ==========================
user     ``user_…``                ``UserRecord``
team     ``team_…``                ``TeamRecord``
project  ``prj_…``                 ``ProjectRecord``
env      ``prj_…/<env id>``        ``EnvRecord``
======== ========================= ==========================
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

VENDOR = "vercel"

Target = Literal["production", "preview", "development"]
TARGETS: tuple[Target, ...] = ("production", "preview", "development")

EnvType = Literal["system", "encrypted", "plain", "sensitive", "secret"]
# Types a client may send: "secret" is legacy and read-only in @vercel/sdk 1.28.35.
WRITABLE_TYPES: frozenset[str] = frozenset({"system", "encrypted", "plain", "sensitive"})

Visibility = Literal["config", "secret"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserRecord(_Record):
    """The account the sandbox token belongs to."""

    id: str
    username: str
    email: str
    name: str
    created_at: int


class TeamRecord(_Record):
    """A team; ``members`` lists the user ids allowed to act in its scope."""

    id: str
    slug: str
    name: str
    created_at: int
    members: list[str] = Field(default_factory=list)
    sensitive_env_policy: Literal["on", "off"] = "off"


class ProjectRecord(_Record):
    """A project owned by a team (``account_id`` = team id) or a user (user id)."""

    id: str
    name: str
    account_id: str
    created_at: int
    updated_at: int
    framework: str | None = None
    node_version: str = "22.x"
    production_branch: str = "main"


class EnvRecord(_Record):
    """One environment variable of one project, as Vercel holds it.

    ``ciphertext`` is an opaque stand-in for Vercel's encrypted value: it is drawn anew
    whenever the value changes, so clients that compare it see a change without ever
    learning the plaintext from a list response.
    """

    id: str
    project_id: str
    key: str
    value: str
    ciphertext: str
    type: EnvType
    target: list[Target] = Field(default_factory=list)
    git_branch: str | None = None
    custom_environment_ids: list[str] = Field(default_factory=list)
    comment: str | None = None
    visibility: Visibility | None = None
    created_at: int
    updated_at: int
    created_by: str | None = None
    updated_by: str | None = None

    @property
    def store_key(self) -> str:
        return f"{self.project_id}/{self.id}"
