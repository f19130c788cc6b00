"""The built-in policy set of architecture §4: one result per rule and resource, passes included.

Passes are kept so the decision contract shows what was checked, not only what failed:
a reviewer can see that ``supabase.rls`` looked at every exposed schema. The rule ids are
a stable contract (waivers and CI greps name them); ``BUILTIN_VERSION`` changes whenever
a rule's meaning changes, so a decision records which rules it was made under.
"""

from __future__ import annotations

import datetime as dt

from converge.config.workspace import ProjectInputs
from converge.policies.context import BUILTIN_RULES, RuleContext
from converge.policies.results import RuleResult
from converge.policies.rules_infisical import check_infisical
from converge.policies.rules_supabase import check_supabase
from converge.policies.rules_vercel import check_vercel
from converge.policies.waivers import check_waivers

BUILTIN_VERSION = "converge-builtin/2"

__all__ = ["BUILTIN_RULES", "BUILTIN_VERSION", "evaluate_builtin"]


def evaluate_builtin(inputs: ProjectInputs, *, today: dt.date) -> list[RuleResult]:
    """Every built-in rule on every resource of ``inputs`` (unsorted, unwaived)."""
    ctx = RuleContext(inputs)
    check_vercel(ctx)
    check_supabase(ctx)
    check_infisical(ctx)
    check_waivers(ctx, today=today)
    return ctx.results
