"""The journal's record of credentials converge minted or must revoke (schema version 2).

Why: a minted credential (an Infisical Universal Auth client secret) is a live key from
the moment the vendor commits its creation, whether or not converge ever sees its value.
So converge journals the intent before the create (with the unique mint nonce it writes
into the credential's description), its id once the vendor answers, and every revocation
it owes (a replaced secret, one whose answer was lost, one no variable holds) as a
*pending revocation* with a due time, until it is done. A killed run, a lost response or
a grace period then never leaves a live credential nobody tracks.

One record per credential (``CredentialRecord``)::

    minting ──► issued ──► revoke_pending ──► revoked
       │  (answer lost; found    ▲ (replaced, unheld, holder deleted: due_at = now + grace)
       │   by its nonce) ────────┘
       └──► void                  (the create never happened: its nonce is nowhere)

- ``system``/``kind``: whose credential (``infisical``/``client-secret``);
- ``parent_id``/``parent_name``: what it belongs to (the identity's id and full name);
- ``credential_id``: the vendor's id (None while minting);
- ``nonce``: ``<run id>/<n>``, written into the vendor's description before the create;
- ``due_at``: when a pending revocation is due (UTC ISO-8601; ``apply`` performs the due
  ones at the end of its run; a later ``watch`` or ``rotate --grace`` can too);
- ``run_id``: the run that minted it or scheduled its revocation; ``settled_by``: the run
  that revoked or voided it.

Nothing secret is stored: ids, names, nonces and times.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from converge.engine.journal_records import utc_now
from converge.errors import JournalError

if TYPE_CHECKING:
    from converge.engine.journal import Journal

CredentialState = Literal["minting", "issued", "revoke_pending", "revoked", "void"]
OPEN_CREDENTIAL_STATES: tuple[str, ...] = ("minting", "revoke_pending")

_COLUMNS = (
    "id, project, system, kind, parent_id, parent_name, credential_id, nonce, state, "
    "due_at, reason, run_id, created_at, updated_at, settled_by"
)
_MAX_TEXT = 512


@dataclass(frozen=True)
class CredentialRecord:
    id: int
    project: str
    system: str
    kind: str
    parent_id: str
    parent_name: str
    credential_id: str | None
    nonce: str | None
    state: CredentialState
    due_at: str | None
    reason: str | None
    run_id: str
    created_at: str
    updated_at: str
    settled_by: str | None

    def describe(self) -> str:
        """``client-secret 5f1c… of token-service@journal-prod``: how status names it."""
        what = self.credential_id or f"(mint {self.nonce})"
        return f"{self.kind} {what} of {self.parent_name}"


def due_time(grace_seconds: float = 0.0) -> str:
    """The due time of a revocation scheduled now with ``grace_seconds`` of grace."""
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=max(grace_seconds, 0.0))
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _check(field: str, value: str | None) -> None:
    if value is not None and (len(value) > _MAX_TEXT or "\n" in value):
        raise JournalError(f"journal field {field} is not a short single-line string")


class CredentialLog:
    """The credential records of one journal (``Journal.credentials``)."""

    def __init__(self, journal: Journal):
        self.journal = journal
        self.db = journal.db

    def begin_mint(
        self, run_id: str, *, system: str, kind: str, parent_id: str, parent_name: str
    ) -> CredentialRecord:
        """Journal, before the create request, that a credential is about to be minted;
        its nonce (``<run id>/<n>``, unique) goes into the vendor's description."""
        for field, value in (("system", system), ("kind", kind), ("parent_id", parent_id),
                             ("parent_name", parent_name)):
            _check(field, value)
        now = utc_now()
        with self.db.transaction():
            run = self.db.execute(
                "SELECT project FROM converge_runs WHERE id = ? AND result = 'running'",
                (run_id,),
            )
            if not run:
                raise JournalError(f"run {run_id} is not running; cannot record a mint")
            count = self.db.execute(
                "SELECT COUNT(*) FROM converge_credentials WHERE run_id = ? AND nonce IS NOT NULL",
                (run_id,),
            )
            nonce = f"{run_id}/{int(count[0][0]) + 1}"
            rows = self.db.execute(
                f"INSERT INTO converge_credentials ({_COLUMNS.removeprefix('id, ')}) "
                "VALUES (?, ?, ?, ?, ?, NULL, ?, 'minting', NULL, NULL, ?, ?, ?, NULL) "
                f"RETURNING {_COLUMNS}",
                (str(run[0][0]), system, kind, parent_id, parent_name, nonce, run_id, now, now),
            )
        return _record(rows[0])

    def issued(self, nonce: str, credential_id: str) -> CredentialRecord:
        """The create answered: the credential's id (the value went to its holder only)."""
        _check("credential_id", credential_id)
        return self._move(
            "nonce = ?", (nonce,), "issued", ("minting",), credential_id=credential_id
        )

    def void(self, record_id: int, run_id: str) -> CredentialRecord:
        """The create never happened (its nonce is nowhere): nothing to revoke."""
        return self._move("id = ?", (record_id,), "void", ("minting",), settled_by=run_id)

    def schedule_revocation(
        self,
        run_id: str,
        *,
        project: str,
        system: str,
        kind: str,
        parent_id: str,
        parent_name: str,
        credential_id: str,
        reason: str,
        due_at: str | None = None,
        nonce: str | None = None,
    ) -> CredentialRecord:
        """Record that ``credential_id`` must be revoked by ``due_at`` (default: now).

        The open record of that credential (found by ``nonce`` for a mint whose answer was
        lost, else by id) becomes ``revoke_pending``; without one (a secret minted before
        converge journaled mints, or found unheld) a new record is made. An earlier due
        time already recorded is kept."""
        for field, value in (("credential_id", credential_id), ("reason", reason)):
            _check(field, value)
        due = due_at or due_time()
        now = utc_now()
        with self.db.transaction():
            where, params = (
                ("nonce = ?", (nonce,)) if nonce is not None
                else ("project = ? AND system = ? AND kind = ? AND credential_id = ?",
                      (project, system, kind, credential_id))
            )
            rows = self.db.execute(
                f"SELECT {_COLUMNS} FROM converge_credentials WHERE {where} "
                "AND state IN ('minting', 'issued', 'revoke_pending') ORDER BY id DESC LIMIT 1",
                params,
            )
            if rows:
                found = _record(rows[0])
                keep = found.due_at if found.state == "revoke_pending" and found.due_at else due
                rows = self.db.execute(
                    "UPDATE converge_credentials SET state = 'revoke_pending', credential_id = ?, "
                    "due_at = ?, reason = ?, updated_at = ? WHERE id = ? "
                    f"RETURNING {_COLUMNS}",
                    (credential_id, min(keep, due), reason, now, found.id),
                )
            else:
                rows = self.db.execute(
                    f"INSERT INTO converge_credentials ({_COLUMNS.removeprefix('id, ')}) "
                    "VALUES (?, ?, ?, ?, ?, ?, NULL, 'revoke_pending', ?, ?, ?, ?, ?, NULL) "
                    f"RETURNING {_COLUMNS}",
                    (project, system, kind, parent_id, parent_name, credential_id, due, reason,
                     run_id, now, now),
                )
        return _record(rows[0])

    def revoked(self, record_id: int, run_id: str) -> CredentialRecord:
        """The vendor confirmed the revocation (or the credential was found revoked)."""
        return self._move("id = ?", (record_id,), "revoked", ("issued", "revoke_pending"),
                          settled_by=run_id)

    def records(
        self, project: str, states: tuple[str, ...] | None = None
    ) -> list[CredentialRecord]:
        """The project's records (in ``states``), oldest first."""
        where, params = "project = ?", [project]
        if states:
            where += f" AND state IN ({', '.join('?' for _ in states)})"
            params += list(states)
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM converge_credentials WHERE {where} ORDER BY id", params
        )
        return [_record(row) for row in rows]

    def pending(self, project: str) -> list[CredentialRecord]:
        """Revocations owed (due or not), oldest first."""
        return self.records(project, ("revoke_pending",))

    def due(self, project: str, now: str | None = None) -> list[CredentialRecord]:
        """Revocations whose due time has come."""
        moment = now or utc_now()
        return [r for r in self.pending(project) if r.due_at is None or r.due_at <= moment]

    def open_mints(self, project: str) -> list[CredentialRecord]:
        """Mints whose answer never reached the journal (a killed run, a lost answer)."""
        return self.records(project, ("minting",))

    def _move(
        self,
        where: str,
        params: tuple[object, ...],
        state: CredentialState,
        sources: tuple[str, ...],
        **fields: str,
    ) -> CredentialRecord:
        sets = "".join(f", {name} = ?" for name in fields)
        marks = ", ".join("?" for _ in sources)
        rows = self.db.execute(
            f"UPDATE converge_credentials SET state = ?, updated_at = ?{sets} "
            f"WHERE {where} AND state IN ({marks}) RETURNING {_COLUMNS}",
            (state, utc_now(), *fields.values(), *params, *sources),
        )
        if not rows:
            raise JournalError(f"no credential record in {'/'.join(sources)} can become {state}")
        return _record(rows[0])


def _record(row: tuple[object, ...]) -> CredentialRecord:
    return CredentialRecord(*row)  # type: ignore[arg-type]
