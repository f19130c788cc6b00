"""Health: live checks that what was applied is there and safe, one result per check.

Unlike drift (every field against the artifacts), health asks the questions an on-call
person asks after a deploy, each answerable with a list call or two:

- Infisical: each desired role exists; each identity exists with Universal Auth attached;
  each binding's role is held by the identity's project membership.
- Vercel: each desired variable (and each value Supabase publishes) is present with
  exactly its targets and the type converge sends; no public (``plain``) variable of the
  project holds a secret (``policies.secrets.find_secrets`` on every readable value).
- Supabase: row-level security on every table of the declared schemas; ``jwt_exp`` within
  policy (``MAX_JWT_EXP``, 24 h); the published anon key, read back from its public Vercel
  variable and decoded, carries the JWT role ``anon``.
- ``vendor_cli=True`` adds the brief's vendor commands where they can run (see
  ``health_vendor_cli``); the others are reported as skipped with the reason.

A vendor that cannot be read gives a failed check naming the request (never a secret);
a refused credential raises ``VendorAuthError`` (exit 4) like every other command.
``check_health`` makes no write. The rollout gate calls it between waves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from converge.engine.context import ReconcileOptions, RunContext
from converge.engine.reconcile import load_desired, select_regions
from converge.engine.session import open_session
from converge.errors import ConvergeError, VendorAuthError

Status = Literal["pass", "fail", "skip"]


@dataclass(frozen=True)
class HealthCheck:
    """One check: which system, what was checked, its outcome and a short detail (never a
    secret)."""

    system: str
    name: str
    status: Status
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status != "fail"

    def to_json(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
        }


def passed(system: str, name: str, detail: str = "") -> HealthCheck:
    return HealthCheck(system, name, "pass", detail)


def failed(system: str, name: str, detail: str = "") -> HealthCheck:
    return HealthCheck(system, name, "fail", detail)


def skipped(system: str, name: str, detail: str) -> HealthCheck:
    return HealthCheck(system, name, "skip", detail)


@dataclass(frozen=True)
class HealthReport:
    """Every check of one project; ``healthy`` when none failed."""

    project: str
    checks: tuple[HealthCheck, ...]
    requests: int = 0

    @property
    def healthy(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failures(self) -> tuple[HealthCheck, ...]:
        return tuple(c for c in self.checks if not c.ok)

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for c in self.checks if c.status == s) for s in ("pass", "fail", "skip")}

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "healthy": self.healthy,
            "counts": self.counts(),
            "checks": [c.to_json() for c in self.checks],
            "requests": self.requests,
        }


def guarded(system: str, run: Callable[[], list[HealthCheck]]) -> list[HealthCheck]:
    """Run one system's checks; a vendor that cannot be read is a failed check (a refused
    credential still raises: the user must fix it, exit 4)."""
    try:
        return run()
    except VendorAuthError:
        raise
    except ConvergeError as exc:
        return [failed(system, f"{system} readable", exc.message)]


def check_health(
    context: RunContext,
    project: str,
    *,
    vendor_cli: bool = False,
    regions: tuple[str | None, ...] | None = None,
) -> HealthReport:
    """Check ``project`` live against its verified artifacts (``.out/<project>/``).

    Reads only the vendors (never the journal); ``regions`` limits Supabase to the refs
    of those regions (a rollout wave). Raises ConvergeError when the artifacts cannot be
    trusted or a credential is refused.
    """
    from converge.ops.health_checks import (
        VercelView,
        check_infisical,
        check_supabase,
        check_vercel,
    )
    from converge.ops.health_vendor_cli import vendor_cli_checks

    before = context.counter.total()
    desired = select_regions(load_desired(context.workspace, project), regions)
    checks: list[HealthCheck] = []
    with open_session(context, desired, ReconcileOptions(command="health")) as session:
        systems = desired.systems
        if "infisical" in systems:
            checks += guarded("infisical", lambda: check_infisical(session.infisical(), desired))
        view: VercelView | None = None
        if "vercel" in systems or (desired.supabase and desired.supabase.publish):
            view = VercelView(session.vercel())
        if "vercel" in systems and view is not None:
            checks += guarded("vercel", lambda: check_vercel(view, desired))
        if "supabase" in systems:
            checks += guarded("supabase", lambda: check_supabase(session.supabase(), desired, view))
        if vendor_cli:
            checks += vendor_cli_checks(desired, context.env, view)
    return HealthReport(
        project=project, checks=tuple(checks), requests=context.counter.total() - before
    )
