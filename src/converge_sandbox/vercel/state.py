"""Typed access to the Vercel documents in ``world.store``.

The store is the only state: a server restarted on the same store path sees the same
teams, projects and env vars. This module knows the key layout (see ``models``) and
nothing about HTTP or validation. Records are validated from the stored documents
themselves (``SandboxStore.views``: pydantic builds new objects, so nothing is copied
twice), and a lookup by name validates only what it finds.
"""

from __future__ import annotations

import secrets
import string
import threading

from converge_sandbox.vercel.models import (
    VENDOR,
    EnvRecord,
    ProjectRecord,
    TeamRecord,
    UserRecord,
)
from converge_sandbox.world import SandboxWorld

_ALPHABET = string.ascii_letters + string.digits


def random_id(length: int) -> str:
    """An opaque id such as Vercel's env ids (``XMbOEya1gUUO1ir4``): letters and digits."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_ciphertext() -> str:
    """A fresh opaque stand-in for an encrypted value; unrelated to the plaintext."""
    return "eyJ2IjoidjIi" + secrets.token_urlsafe(48)


class VercelState:
    """Reads and writes the emulator's documents; ``lock`` serialises read-modify-write."""

    def __init__(self, world: SandboxWorld):
        self.world = world
        self.store = world.store
        self.lock = threading.RLock()

    def now_ms(self) -> int:
        return int(self.world.clock() * 1000)

    # users and teams -------------------------------------------------------------------

    def users(self) -> list[UserRecord]:
        return [UserRecord.model_validate(d) for d in self.store.views(VENDOR, "user")]

    def token_user(self) -> UserRecord | None:
        """The user the sandbox token belongs to (the first, and only, seeded user)."""
        users = self.store.views(VENDOR, "user")
        return UserRecord.model_validate(users[0]) if users else None

    def put_user(self, user: UserRecord) -> None:
        self.store.put(VENDOR, "user", user.id, user.model_dump())

    def teams(self) -> list[TeamRecord]:
        return [TeamRecord.model_validate(d) for d in self.store.views(VENDOR, "team")]

    def team(self, team_id: str) -> TeamRecord | None:
        doc = self.store.view(VENDOR, "team", team_id)
        return TeamRecord.model_validate(doc) if doc is not None else None

    def team_by_slug(self, slug: str) -> TeamRecord | None:
        doc = next((t for t in self.store.views(VENDOR, "team") if t["slug"] == slug), None)
        return TeamRecord.model_validate(doc) if doc is not None else None

    def put_team(self, team: TeamRecord) -> None:
        self.store.put(VENDOR, "team", team.id, team.model_dump())

    # projects --------------------------------------------------------------------------

    def projects(self) -> list[ProjectRecord]:
        return [ProjectRecord.model_validate(d) for d in self.store.views(VENDOR, "project")]

    def project_in_account(self, id_or_name: str, account_id: str) -> ProjectRecord | None:
        """A project of ``account_id`` whose id or name is ``id_or_name``."""
        doc = self.store.view(VENDOR, "project", id_or_name)
        if doc is None:
            doc = next((p for p in self.store.views(VENDOR, "project")
                        if p["account_id"] == account_id and p["name"] == id_or_name), None)
        elif doc["account_id"] != account_id:
            return None
        return ProjectRecord.model_validate(doc) if doc is not None else None

    def put_project(self, project: ProjectRecord) -> None:
        self.store.put(VENDOR, "project", project.id, project.model_dump())

    # env vars --------------------------------------------------------------------------

    def envs(self, project_id: str) -> list[EnvRecord]:
        """Every env var of a project, oldest first."""
        docs = self.store.views(VENDOR, "env", prefix=f"{project_id}/")
        records = [EnvRecord.model_validate(d) for d in docs]
        return sorted(records, key=lambda r: (r.created_at, r.id))

    def env(self, project_id: str, env_id: str) -> EnvRecord | None:
        doc = self.store.view(VENDOR, "env", f"{project_id}/{env_id}")
        return EnvRecord.model_validate(doc) if doc is not None else None

    def put_env(self, record: EnvRecord) -> None:
        self.store.put(VENDOR, "env", record.store_key, record.model_dump())

    def delete_env(self, record: EnvRecord) -> bool:
        return self.store.delete(VENDOR, "env", record.store_key)

    def new_env_id(self, project_id: str) -> str:
        while True:
            candidate = random_id(16)
            if self.env(project_id, candidate) is None:
                return candidate
