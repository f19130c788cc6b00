"""The Vercel world every sandbox starts from.

One user (the owner of the sandbox token), the team ``acme`` and its projects
``journal-web`` and ``analytics-dashboard``. ``analytics-dashboard`` already holds one
env var converge does not manage, ``SEGMENT_WRITE_KEY`` (encrypted, production): a
reconcile must leave it alone, and a test can prove it did.

Ids are derived from names, so they are the same in every sandbox and after a restart,
and ``team_id()`` / ``project_id()`` give them to tests and to later code without a
lookup. ``seed`` is idempotent: it only adds what is missing and never overwrites.
"""

from __future__ import annotations

import hashlib
import string

from converge_sandbox.vercel.models import (
    VENDOR,
    EnvRecord,
    ProjectRecord,
    TeamRecord,
    UserRecord,
)
from converge_sandbox.vercel.state import VercelState, new_ciphertext
from converge_sandbox.world import SandboxWorld

TEAM_SLUG = "acme"
TEAM_NAME = "Acme"
PROJECT_NAMES: tuple[str, ...] = ("journal-web", "analytics-dashboard")
USERNAME = "sandbox"

UNMANAGED_PROJECT = "analytics-dashboard"
UNMANAGED_ENV_KEY = "SEGMENT_WRITE_KEY"
_UNMANAGED_ENV_VALUE = "sandbox-segment-write-key-7f3a91c2"

_ALPHABET = string.ascii_letters + string.digits
# 2026-01-01T00:00:00Z: a fixed creation time keeps seeded documents identical.
_SEEDED_AT_MS = 1_767_225_600_000


def _derived(label: str, length: int) -> str:
    """``length`` letters and digits derived from ``label`` (stable across sandboxes)."""
    number = int.from_bytes(hashlib.sha256(f"converge-sandbox/vercel/{label}".encode()).digest())
    chars = []
    for _ in range(length):
        number, digit = divmod(number, len(_ALPHABET))
        chars.append(_ALPHABET[digit])
    return "".join(chars)


def user_id() -> str:
    """The sandbox user's id (Vercel user ids carry no prefix)."""
    return _derived("user", 24)


def team_id(slug: str = TEAM_SLUG) -> str:
    return "team_" + _derived(f"team/{slug}", 24)


def project_id(name: str, account: str | None = None) -> str:
    """The id of a seeded project, e.g. ``project_id("journal-web")``, and of a project a
    workspace names (``workspace``); ``account`` tells apart two accounts' projects of one
    name."""
    label = f"project/{name}" if account is None else f"project/{account}/{name}"
    return "prj_" + _derived(label, 28)


def unmanaged_env_id() -> str:
    return _derived(f"env/{UNMANAGED_PROJECT}/{UNMANAGED_ENV_KEY}", 16)


def seed(world: SandboxWorld) -> None:
    """Add the seeded user, team, projects and unmanaged env var where missing."""
    state = VercelState(world)
    store = world.store
    uid = user_id()
    if store.get(VENDOR, "user", uid) is None:
        state.put_user(UserRecord(
            id=uid, username=USERNAME, email="sandbox@example.com", name="Sandbox User",
            created_at=_SEEDED_AT_MS,
        ))
    tid = team_id()
    if store.get(VENDOR, "team", tid) is None:
        state.put_team(TeamRecord(
            id=tid, slug=TEAM_SLUG, name=TEAM_NAME, created_at=_SEEDED_AT_MS, members=[uid],
        ))
    for index, name in enumerate(PROJECT_NAMES):
        pid = project_id(name)
        if store.get(VENDOR, "project", pid) is None:
            # A second apart: the project list pages by update time, as Vercel's does.
            made_at = _SEEDED_AT_MS + index * 1000
            state.put_project(ProjectRecord(
                id=pid, name=name, account_id=tid, created_at=made_at,
                updated_at=made_at, framework="nextjs",
            ))
    pid = project_id(UNMANAGED_PROJECT)
    if not any(r.key == UNMANAGED_ENV_KEY for r in state.envs(pid)):
        state.put_env(EnvRecord(
            id=unmanaged_env_id(), project_id=pid, key=UNMANAGED_ENV_KEY,
            value=_UNMANAGED_ENV_VALUE, ciphertext=new_ciphertext(), type="encrypted",
            target=["production"], created_at=_SEEDED_AT_MS, updated_at=_SEEDED_AT_MS,
            created_by=uid, updated_by=uid,
        ))
