"""Waivers: a reviewed, time-boxed exception for one rule on one resource.

A waiver turns a matching fail or warn into ``waived`` so the decision can allow, but
only until its expiry date: after that it waives nothing and is itself a failure
(``waiver.expired``), so an exception cannot silently become permanent. A waiver is valid
through the day it names. ``waiver.*`` results are never waived themselves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import replace

from converge.config.models import Waiver
from converge.policies.context import RuleContext
from converge.policies.results import RuleResult, Status


def waiver_resource(waiver: Waiver) -> str:
    return f"waiver/{waiver.rule}/{waiver.resource}"


def is_expired(waiver: Waiver, today: dt.date) -> bool:
    return today > waiver.expires


def check_waivers(ctx: RuleContext, *, today: dt.date) -> None:
    """One ``waiver.expired`` result per waiver, located at its ``expires`` date."""
    for index, waiver in enumerate(ctx.inputs.waivers):
        expired = is_expired(waiver, today)
        message = (
            f"waiver for {waiver.rule} on {waiver.resource} expired on {waiver.expires}; renew "
            "it with a new reason or fix the finding" if expired else
            f"waiver for {waiver.rule} on {waiver.resource} is valid until {waiver.expires}"
        )
        ctx.record("waiver.expired", waiver_resource(waiver), not expired, message,
                   kind="waivers", path=("waivers", index, "expires"))


def apply_waivers(
    results: Iterable[RuleResult], waivers: Iterable[Waiver], *, today: dt.date
) -> list[RuleResult]:
    """``results`` with every fail/warn matched by an unexpired waiver marked waived."""
    active = {(w.rule, w.resource): w for w in waivers if not is_expired(w, today)}
    out: list[RuleResult] = []
    for result in results:
        waiver = active.get((result.rule, result.resource))
        if (
            waiver is not None
            and result.status in (Status.FAIL, Status.WARN)
            and not result.rule.startswith("waiver.")
        ):
            result = replace(
                result,
                status=Status.WAIVED,
                message=f"{result.message} (waived until {waiver.expires}: {waiver.reason})",
            )
        out.append(result)
    return out
