"""The gate a rollout passes after each wave (project.yaml ``rollout.gate``).

Checks, in this order, each reported whatever the others gave:

``soak``    wait ``soak_seconds`` first, so the other checks see the wave settled
``health``  ``converge.ops.health.check_health`` of the project (what was applied works),
            ignoring the Supabase projects of regions not rolled out yet
``drift``   no drift in what is out so far: the non-regional systems through
            ``converge.ops.drift.detect_drift``; Supabase through the engine's plan limited
            to the regions rolled out (the others are expected to differ still)
``probe``   an HTTP GET of ``probe.url`` (``vendors.probe``) answers ``expect_status``

The gate after wave N covers waves 1..N: a later wave must not break an earlier one.
Health and drift are other modules' work, called through the small adapters below.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from converge.config.models import Gate
from converge.engine.context import ReconcileOptions, RunContext
from converge.engine.reconcile import plan_project
from converge.errors import ConvergeError
from converge.vendors.probe import probe_url


@dataclass(frozen=True)
class CheckResult:
    name: str  # soak | health | drift | probe
    passed: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"check": self.name, "passed": self.passed, "detail": self.detail}


@dataclass(frozen=True)
class GateResult:
    checks: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if not c.passed)

    def to_json(self) -> dict[str, Any]:
        return {"passed": self.passed, "checks": [c.to_json() for c in self.checks]}


@dataclass(frozen=True)
class GateContext:
    """What the checks observe: the rollout's run context, its project and how far the
    rollout has come."""

    run: RunContext
    project: str
    regions: tuple[str | None, ...] | None  # Supabase regions rolled out (None: all)
    pending_refs: frozenset[str] = frozenset()  # Supabase refs of regions still to come


def run_gate(
    gate: Gate, context: GateContext, *, sleep: Callable[[float], None] = time.sleep
) -> GateResult:
    checks: list[CheckResult] = []
    if gate.soak_seconds:
        sleep(float(gate.soak_seconds))
        checks.append(CheckResult("soak", True, f"waited {gate.soak_seconds}s"))
    if gate.health:
        checks.append(check_health_gate(context))
    if gate.drift:
        checks.append(check_drift_gate(context))
    if gate.probe is not None:
        checks.append(check_probe(gate.probe.url, gate.probe.expect_status))
    return GateResult(tuple(checks))


def check_health_gate(context: GateContext) -> CheckResult:
    """The project's health checks (``converge.ops.health``)."""
    try:
        from converge.ops import health
    except ImportError:
        return CheckResult("health", False, "health checks are not available in this build")
    try:
        report = health.check_health(context.run, context.project)
    except ConvergeError as exc:
        return CheckResult("health", False, f"could not check: {exc.message}")
    counted = [c for c in report.checks if not _pending(c.system, c.name, context.pending_refs)]
    failed = [f"{c.system} {c.name}" for c in counted if not c.ok]
    if failed:
        more = f" (+{len(failed) - 3} more)" if len(failed) > 3 else ""
        return CheckResult("health", False, f"unhealthy: {'; '.join(failed[:3])}{more}")
    return CheckResult("health", True, f"healthy ({len(counted)} checks)")


def _pending(system: str, name: str, pending_refs: frozenset[str]) -> bool:
    """A Supabase check of a project ref whose region is not rolled out yet (health
    names those checks after the ref)."""
    return system == "supabase" and name.split(" ", 1)[0] in pending_refs


def check_drift_gate(context: GateContext) -> CheckResult:
    """Zero drift in what the wave applied."""
    drifted: list[str] = []
    try:
        drifted += _detect_drift(context, ("infisical", "vercel"))
        plan = plan_project(
            context.run,
            context.project,
            options=ReconcileOptions(
                systems=("supabase",), regions=context.regions, command="plan"
            ),
            record=False,  # a partial plan: not the project's last plan
        )
        drifted += [f"{c.system} {c.kind} {c.label or c.name}" for c in plan.changes]
    except ConvergeError as exc:
        return CheckResult("drift", False, f"could not check: {exc.message}")
    if drifted:
        more = f" (+{len(drifted) - 3} more)" if len(drifted) > 3 else ""
        listed = ", ".join(drifted[:3])
        return CheckResult("drift", False, f"{len(drifted)} drifted: {listed}{more}")
    return CheckResult("drift", True, "no drift")


def _detect_drift(context: GateContext, systems: tuple[str, ...]) -> list[str]:
    """Drifted objects of the non-regional ``systems`` (the project's artifacts)."""
    from converge.ops.drift import detect_drift

    report = detect_drift(context.run, context.project, systems=systems, record=False)
    return [f"{i.system} {i.object_kind} {i.label or i.name}" for i in report.items]


def check_probe(url: str, expect_status: int) -> CheckResult:
    """One GET of ``url``; passes when it answers ``expect_status``."""
    if not url.startswith(("http://", "https://")):
        return CheckResult("probe", False, f"{url} is not an http(s) URL")
    answer = probe_url(url)
    if answer.status is None:
        return CheckResult("probe", False, f"{url} did not answer ({answer.failure})")
    status = answer.status
    passed = status == expect_status
    detail = f"{url} answered {status}" + ("" if passed else f" (expected {expect_status})")
    return CheckResult("probe", passed, detail)
