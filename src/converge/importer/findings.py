"""What an import could not express, and what it asks the next apply to do (pure data).

Each ``Finding`` is one line of the report: the system, the object as people name it,
and a sentence saying what was done instead and what to do about it. Never a value.

Kinds:

- ``skipped``: the object was left out of the workspace files. converge does not manage
  it, so plans leave it alone (unless it carries converge's marker; the sentence says).
- ``placeholder``: written as a ``placeholder/…`` reference that ``validate`` refuses
  until someone replaces it with the real reference.
- ``differs``: written as close as the workspace can say it; the first plan will show a
  change for it.
- ``refused``: written as it is, and a built-in policy refuses it (``decide`` says
  where): the live state breaks a rule, which someone has to decide about.
- ``adopt``: exists without converge's ownership marker; listed under ``adopt:`` in
  project.yaml, so the next apply sets the marker (values already match).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["skipped", "placeholder", "differs", "refused", "adopt"]
# Findings that are not adoptions: what the report's summary counts as "to review".
TO_REVIEW: frozenset[str] = frozenset({"skipped", "placeholder", "differs", "refused"})


@dataclass(frozen=True)
class Finding:
    system: str  # infisical | vercel | supabase
    kind: Kind
    subject: str  # "role runtime-prod", "INFISICAL_API_KEY (production)"
    message: str

    def line(self) -> str:
        return f"{self.system}: {self.subject}: {self.message}"

    def to_json(self) -> dict[str, str]:
        return {"system": self.system, "kind": self.kind, "subject": self.subject,
                "message": self.message}


@dataclass
class Findings:
    """The findings of one import, in the order they were found."""

    items: list[Finding] = field(default_factory=list)

    def add(self, system: str, kind: Kind, subject: str, message: str) -> None:
        self.items.append(Finding(system, kind, subject, message))

    def skipped(self, system: str, subject: str, message: str) -> None:
        self.add(system, "skipped", subject, message)

    def placeholder(self, system: str, subject: str, message: str) -> None:
        self.add(system, "placeholder", subject, message)

    def differs(self, system: str, subject: str, message: str) -> None:
        self.add(system, "differs", subject, message)

    def refused(self, system: str, subject: str, message: str) -> None:
        self.add(system, "refused", subject, message)

    def adopt(self, system: str, subject: str, message: str) -> None:
        self.add(system, "adopt", subject, message)
