"""The change model: what a plan proposes, as immutable, ordered, serialisable data.

A ``Change`` never carries a secret. Values that are secret (client secrets, sensitive
Vercel values, Supabase auth secrets) appear in diffs as ``"(sensitive)"`` and in
``desired`` only as references (``identity/…/client-secret``, ``secret/prod/…``), which the
vendor package resolves at apply time and sends straight to the vendor.

Ordering (architecture §6): Infisical, then Vercel, then Supabase; inside a system, creates and
updates run by ascending ``stage`` (roles → identities → bindings) and deletions after them
in reverse stage order, so nothing is deleted while something still depends on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

SYSTEMS: tuple[str, ...] = ("infisical", "vercel", "supabase")
SENSITIVE = "(sensitive)"


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    ADOPT = "adopt"
    CONFLICT = "conflict"

    @property
    def writes(self) -> bool:
        """A conflict is shown in the plan but never applied."""
        return self is not Action.CONFLICT

    @property
    def symbol(self) -> str:
        return {"create": "+", "update": "~", "delete": "-", "adopt": "&", "conflict": "!"}[
            self.value
        ]


@dataclass(frozen=True)
class FieldDiff:
    """One field that differs: desired ``after`` against observed ``before``."""

    field: str
    before: Any
    after: Any

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "before": self.before, "after": self.after}


def change_key(system: str, kind: str, name: str) -> str:
    """``system/kind/name``: the one name of an object across runs. Plans, the journal
    (operations, managed objects, markers) and drift reports all use it."""
    return f"{system}/{kind}/{name}"


def _freeze(data: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(data or {}))


@dataclass(frozen=True)
class Change:
    """One write the plan proposes.

    ``key`` is stable across runs (``system/kind/name``) so the journal can match an
    unfinished operation to the change that resumes it. ``desired`` holds what the vendor
    package needs to perform the write (references only, never secret values);
    ``current_id`` is the vendor's id of the object being updated or deleted.
    ``label`` is how people read the object (``runtime (prod)``), ``detail`` an optional
    second line (``Identity: token-service@journal-prod -> Role: runtime``).
    """

    system: str
    kind: str
    name: str
    action: Action
    stage: int
    diffs: tuple[FieldDiff, ...] = ()
    desired: Mapping[str, Any] = field(default_factory=lambda: _freeze(None))
    current_id: str | None = None
    reason: str = ""
    label: str = ""
    detail: str = ""

    def __post_init__(self) -> None:
        if self.system not in SYSTEMS:
            raise ValueError(f"unknown system {self.system!r}")
        object.__setattr__(self, "desired", _freeze(self.desired))

    @property
    def key(self) -> str:
        return change_key(self.system, self.kind, self.name)

    def sort_key(self) -> tuple[int, int, int, str, str]:
        system = SYSTEMS.index(self.system)
        if self.action is Action.DELETE:
            return (system, 1, -self.stage, self.kind, self.name)
        return (system, 0, self.stage, self.kind, self.name)

    def to_json(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "kind": self.kind,
            "name": self.name,
            "action": self.action.value,
            "key": self.key,
            "diffs": [d.to_json() for d in self.diffs],
            "current_id": self.current_id,
            "reason": self.reason,
            "label": self.label or self.name,
        }


def order_changes(changes: Iterable[Change]) -> tuple[Change, ...]:
    """The deterministic apply order of architecture §6."""
    return tuple(sorted(changes, key=Change.sort_key))
