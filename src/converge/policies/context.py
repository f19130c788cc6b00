"""What every built-in rule module shares: the project's inputs and a result collector.

Rules are plain functions over ``RuleContext``; they say pass, fail or warn for one rule
and one resource at one place in one file, and the context turns that into a located
``RuleResult`` with the severity the rule id implies. Keeping severity here (not in each
rule) means a rule cannot be a warning in one place and an error in another.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from converge.config.workspace import ProjectInputs
from converge.policies.results import RuleResult, Severity, Status

PathKey = tuple[str | int, ...]

# The rule ids of architecture §4 that only warn; every other built-in rule fails.
WARN_RULES = frozenset({"infisical.admin-role", "infisical.trusted-ips-open"})

BUILTIN_RULES = (
    "vercel.public-prefix",
    "vercel.public-secret",
    "vercel.public-characters",
    "vercel.server-reference",
    "supabase.jwt-exp",
    "supabase.rls",
    "supabase.service-role-exposed",
    "supabase.publish-allowed",
    "supabase.provider-secret",
    "supabase.https-urls",
    "infisical.names",
    "infisical.role-exists",
    "infisical.ttl",
    "infisical.admin-role",
    "infisical.trusted-ips-open",
    "waiver.expired",
)


def severity_of(rule: str) -> Severity:
    return Severity.WARNING if rule in WARN_RULES else Severity.ERROR


@dataclass
class RuleContext:
    """The inputs rules read and the results they produce, in production order."""

    inputs: ProjectInputs
    results: list[RuleResult] = field(default_factory=list)

    def record(
        self, rule: str, resource: str, ok: bool, message: str, *, kind: str, path: PathKey
    ) -> None:
        """Pass when ``ok``; otherwise fail (or warn, for the warn rules)."""
        failed = Status.WARN if rule in WARN_RULES else Status.FAIL
        status = Status.PASS if ok else failed
        self.results.append(
            RuleResult(
                rule=rule,
                severity=severity_of(rule),
                status=status,
                resource=resource,
                message=message,
                location=self.inputs.locate(kind, path),
            )
        )

    def passed(self, rule: str, resource: str, message: str, *, kind: str, path: PathKey) -> None:
        self.record(rule, resource, True, message, kind=kind, path=path)

    def failed(self, rule: str, resource: str, message: str, *, kind: str, path: PathKey) -> None:
        self.record(rule, resource, False, message, kind=kind, path=path)
