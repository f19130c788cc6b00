"""The state of each system of a project, as the journal knows it (no vendor request).

``converge status`` shows it beside the last runs: how many objects converge manages in
each system, when one was last applied and by which run, whether an operation is
unfinished there (a killed run; ``converge apply`` resumes it), and the credentials whose
fate is not settled yet (``unsettled_credentials``): revocations owed, and mints whose
answer a stopped run never recorded (a live secret nobody holds, until ``apply`` revokes
it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from converge.changes import SYSTEMS
from converge.engine.journal import Journal
from converge.engine.journal_credentials import CredentialRecord
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


def unsettled_credentials(journal: Journal, project: str) -> list[CredentialRecord]:
    """Pending revocations, and mints of runs no longer running that never recorded
    their answer (a live run's mint in flight is not unsettled)."""
    found: list[CredentialRecord] = []
    for record in journal.credentials.records(project, ("minting", "revoke_pending")):
        if record.state == "minting":
            run = journal.get_run(record.run_id)
            if run is not None and run.result == "running":
                continue
        found.append(record)
    return found
