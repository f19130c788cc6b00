"""Evaluate every policy on one project: built-in rules, user Rego, then waivers.

This is the one entry point ``decide`` needs. It returns data only (the report); writing
the decision contract and printing belong to the callers. Results are sorted so the same
inputs always give the same report, and the verdict is ``deny`` exactly when a result
still fails after waivers -- warnings and waived findings never deny.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from converge.config.models import Waiver
from converge.config.workspace import ProjectInputs
from converge.policies.builtin import BUILTIN_VERSION, evaluate_builtin
from converge.policies.rego import evaluate_rego, policy_digests
from converge.policies.rego_engine import DEFAULT_TIMEOUT
from converge.policies.results import RuleResult, Status
from converge.policies.waivers import apply_waivers


@dataclass(frozen=True)
class PolicyReport:
    """The outcome of every policy for one project, ready for the decision contract."""

    project: str
    verdict: Literal["allow", "deny"]
    results: tuple[RuleResult, ...]
    builtin_version: str
    user_policies: dict[str, str]
    waivers: tuple[Waiver, ...]

    @property
    def failures(self) -> tuple[RuleResult, ...]:
        return tuple(r for r in self.results if r.status is Status.FAIL)

    def counts(self) -> dict[str, int]:
        """How many results have each status (every status present, for stable output)."""
        return {s.value: sum(1 for r in self.results if r.status is s) for s in Status}

    def results_json(self) -> list[dict[str, Any]]:
        return [r.to_json() for r in self.results]


def evaluate_policies(
    inputs: ProjectInputs,
    *,
    policy_files: list[Path],
    workspace_root: Path,
    today: dt.date,
    policy_timeout: float = DEFAULT_TIMEOUT,
) -> PolicyReport:
    """Run built-in and user policies on ``inputs`` and apply its waivers as of ``today``;
    each user-policy query may take ``policy_timeout`` seconds."""
    results = evaluate_builtin(inputs, today=today)
    results += evaluate_rego(inputs, policy_files=policy_files, workspace_root=workspace_root,
                             timeout=policy_timeout)
    waived = apply_waivers(results, inputs.waivers, today=today)
    ordered = tuple(sorted(waived, key=RuleResult.sort_key))
    verdict: Literal["allow", "deny"] = (
        "deny" if any(r.status is Status.FAIL for r in ordered) else "allow"
    )
    return PolicyReport(
        project=inputs.name,
        verdict=verdict,
        results=ordered,
        builtin_version=BUILTIN_VERSION,
        user_policies=policy_digests(policy_files, workspace_root=workspace_root),
        waivers=inputs.waivers,
    )
