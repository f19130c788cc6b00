"""``decide`` with its verdict in the audit log: the library call the CLI makes.

Why a wrapper and not the CLI: who decided what, and when, belongs in the audit log
(architecture §3 keeps timestamps out of ``decision.json``), and a library caller deciding a
project must leave the same trail as ``converge decide``. The log is checked before the
policies are evaluated, so a decision is never written while its line would be refused;
the line holds the project, the decision id, the verdict, the number of results that
failed, warned or were waived, and the actor: never a value.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping

from converge.config.workspace import Workspace
from converge.engine.audit import DecisionEntry, current_actor
from converge.engine.audit_trail import workspace_trail
from converge.engine.journal import Journal
from converge.engine.pipeline import decide_project
from converge.policies.contract import Decision

COUNTED = ("fail", "warn", "waived")


def decision_entry(decision: Decision, actor: str) -> DecisionEntry:
    """The audit line of a decision: ids and counts copied from the contract."""
    statuses = Counter(str(result.get("status")) for result in decision.body["results"])
    return DecisionEntry(
        project=decision.project,
        decision_id=decision.decision_id,
        verdict=decision.verdict,
        actor=actor,
        counts={status: statuses[status] for status in COUNTED},
    )


def decide_and_log(
    workspace: Workspace,
    name: str,
    *,
    journal: Journal,
    env: Mapping[str, str] | None = None,
    today: dt.date | None = None,
) -> Decision:
    """``engine.pipeline.decide_project``, then its verdict's line in the audit log
    (anchored in ``journal``). Raises ``AuditLogTampered`` before deciding when the log
    lost the head the journal recorded."""
    trail = workspace_trail(workspace, journal)
    trail.check()
    decision = decide_project(workspace, name, today=today)
    trail.append(decision_entry(decision, current_actor(env)))
    return decision
