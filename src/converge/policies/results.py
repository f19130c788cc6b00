"""The shape every policy result takes, built-in or Rego: one per rule and resource."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from converge.errors import Location


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    WAIVED = "waived"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class RuleResult:
    """The verdict of one rule on one resource.

    ``resource`` names the object the way waivers name it, e.g.
    ``identity/token-service@journal-prod`` or ``vercel/NEXT_PUBLIC_API_URL``.
    ``message`` never contains a secret value: it names the key, never the value.
    """

    rule: str
    severity: Severity
    status: Status
    resource: str
    message: str
    location: Location | None = None

    @property
    def blocking(self) -> bool:
        """A failure denies the decision; warnings and waived results do not."""
        return self.status is Status.FAIL

    def sort_key(self) -> tuple[str, str, str, str]:
        return (self.rule, self.resource, str(self.location or ""), self.message)

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "status": self.status.value,
            "resource": self.resource,
            "message": self.message,
            "location": str(self.location) if self.location else None,
        }
