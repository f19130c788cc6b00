"""The state of each system of a project, as the journal knows it (no vendor request).

``converge status`` shows it beside the last runs: how many objects converge manages in
each system, when one was last applied and by which run, and whether an operation is
unfinished there (a killed run; ``converge apply`` resumes it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from converge.changes import SYSTEMS
from converge.engine.journal import Journal
from converge.engine.journal_records import OperationRecord


@dataclass(frozen=True)
class SystemState:
    system: str
    managed: int
    last_applied: str | None
    last_run: str | None
    unfinished: int

    @property
    def state(self) -> str:
        if self.unfinished:
            return "unfinished"
        return "applied" if self.managed else "never applied"


def system_states(
    journal: Journal, project: str, unfinished: Sequence[OperationRecord]
) -> list[SystemState]:
    """One entry per system converge knows anything about for ``project``."""
    states: list[SystemState] = []
    for system in SYSTEMS:
        managed = journal.managed_objects(project, system)
        open_ops = sum(1 for op in unfinished if op.system == system)
        if not managed and not open_ops:
            continue
        latest = max(managed, key=lambda m: m.updated_at, default=None)
        states.append(
            SystemState(
                system=system,
                managed=len(managed),
                last_applied=latest.updated_at if latest else None,
                last_run=latest.run_id if latest else None,
                unfinished=open_ops,
            )
        )
    return states
