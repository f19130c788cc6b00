"""Minted credentials never outlive their use: the engine's side (issue 8, architecture §6).

A Universal Auth client secret converge mints is delivered to a Vercel variable, which
names it in its marker (``cs=<id>``). A secret is *held* while such a variable names it;
every other live secret of an identity whose secret converge delivers is unaccounted for:
a replaced one, one whose holder was deleted, one a killed run minted and never
delivered, one whose mint answer was lost, or one made by hand.

    JournalLedger       ``CredentialLedger`` over the journal, bound to one apply run:
                        mint intents with their nonce, ids, pending revocations
    check_credentials   (drift) the live client secrets no variable holds and no pending
                        revocation covers; converge-minted ones are ``added`` drift
                        (apply revokes them), the others ``unmanaged`` (reported only)
    settle_credentials  (the end of apply) settle mints earlier runs left open, schedule
                        the revocation of converge-minted secrets no variable holds, and
                        perform every revocation that is due

Scope: the identities whose client secret this project delivers (its ``client-secret``
references) are checked for every unheld secret; for the secrets converge minted for
this project (their description says so) the identities the journal records a minted
secret of are checked too, so deleting the last variable that referenced an identity
still revokes its secret (one list request per identity; identities converge never
minted for are not read). Secrets converge did not mint are never revoked. Revocations
are journaled before the vendor call (``journal_credentials``), so a kill leaves a
pending revocation, not a forgotten key.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from converge.desired import DesiredState
from converge.engine.journal import Journal
from converge.engine.journal_credentials import CredentialRecord, due_time
from converge.engine.session import Session
from converge.errors import ConvergeError
from converge.vendors.base import CredentialRef, IssuedCredential
from converge.vendors.infisical.resolver import identity_of_client_secret

DEFAULT_GRACE_SECONDS = 0.0  # a replaced secret is revoked once the new one is published


class JournalLedger:
    """The journal as a ``CredentialLedger`` for one apply run of one project."""

    def __init__(self, journal: Journal, *, project: str, run_id: str,
                 grace_seconds: float = DEFAULT_GRACE_SECONDS):
        self.journal = journal
        self.project = project
        self.run_id = run_id
        self.grace_seconds = grace_seconds
        self._pending: dict[str, CredentialRecord] = {}
        self._lock = threading.Lock()

    def mint_started(self, *, system: str, kind: str, parent_id: str, parent_name: str) -> str:
        record = self.journal.credentials.begin_mint(
            self.run_id, system=system, kind=kind, parent_id=parent_id, parent_name=parent_name
        )
        assert record.nonce is not None
        return record.nonce

    def mint_answered(self, nonce: str, credential_id: str) -> None:
        self.journal.credentials.issued(nonce, credential_id)

    def revocation_due(
        self, credential: CredentialRef, *, reason: str, nonce: str | None = None
    ) -> None:
        grace = 0.0 if nonce is not None else self.grace_seconds  # a lost mint is useless
        record = self.journal.credentials.schedule_revocation(
            self.run_id, project=self.project, system=credential.system, kind=credential.kind,
            parent_id=credential.parent_id, parent_name=credential.parent_name,
            credential_id=credential.credential_id, reason=reason, due_at=due_time(grace),
            nonce=nonce,
        )
        with self._lock:
            self._pending[credential.credential_id] = record

    def revoked(self, credential: CredentialRef) -> None:
        with self._lock:
            record = self._pending.pop(credential.credential_id, None)
        if record is None:
            found = [r for r in self.journal.credentials.pending(self.project)
                     if r.credential_id == credential.credential_id]
            record = found[0] if found else None
        if record is not None:
            self.journal.credentials.revoked(record.id, self.run_id)


@dataclass(frozen=True)
class Revocation:
    """A credential revoked at the end of an apply, and why."""

    credential: CredentialRef
    reason: str

    def describe(self) -> str:
        return (f"{self.credential.kind} {self.credential.credential_id} of "
                f"{self.credential.parent_name} ({self.reason})")


@dataclass(frozen=True)
class CredentialCheck:
    """What ``check_credentials`` found: the live secrets nothing accounts for, and whether
    some holder could not say which secret it holds (then nothing is reported)."""

    unheld: tuple[IssuedCredential, ...] = ()
    unknown_holders: bool = False


def client_secret_refs(desired: DesiredState) -> tuple[str, ...]:
    """The ``identity/<name>/client-secret`` references the project delivers to Vercel."""
    if desired.vercel is None:
        return ()
    return tuple(sorted({
        v.ref for v in desired.vercel.variables
        if v.ref and identity_of_client_secret(v.ref) is not None
    }))


def _delivered(refs: Sequence[str]) -> set[str]:
    return {name for ref in refs if (name := identity_of_client_secret(ref)) is not None}


def _minted_for(journal: Journal | None, project: str) -> set[str]:
    """The identities the journal records a minted (or owed) secret of, still live."""
    if journal is None:
        return set()
    states = ("minting", "issued", "revoke_pending")
    return {r.parent_name for r in journal.credentials.records(project, states)}


def check_credentials(session: Session, journal: Journal | None) -> CredentialCheck:
    """The live client secrets of the project's identities that no converge variable holds
    and no pending revocation covers (reads only; see the module docstring)."""
    resolver = session.resolver()
    refs = client_secret_refs(session.desired)
    if resolver is None or not (refs or _minted_for(journal, session.desired.project)):
        return CredentialCheck()
    delivered = _delivered(refs)
    minted_for = _minted_for(journal, session.desired.project)
    held = session.held_credentials(refs)
    if held is None:
        return CredentialCheck(unknown_holders=True)
    pending = (
        {r.credential_id for r in journal.credentials.pending(session.desired.project)}
        if journal is not None else set()
    )
    unheld = tuple(
        c for c in resolver.issued(delivered | minted_for)
        if not c.revoked
        and c.ref.credential_id not in held
        and c.ref.credential_id not in pending
        and (c.minted_here or c.ref.parent_name in delivered)
    )
    return CredentialCheck(unheld=unheld)


def settle_credentials(session: Session, journal: Journal, run_id: str) -> list[Revocation]:
    """At the end of an apply: settle the mints earlier runs left open, schedule the
    revocation of converge-minted secrets no variable holds, and revoke every credential
    whose revocation is due. Returns what was revoked."""
    resolver = session.resolver()
    project = session.desired.project
    log = journal.credentials
    open_mints = [r for r in log.open_mints(project) if r.run_id != run_id]
    refs = client_secret_refs(session.desired)
    parents = _delivered(refs) | _minted_for(journal, project)
    if resolver is None or not parents:
        return []
    issued = resolver.issued(parents)
    by_nonce = {c.nonce: c for c in issued if c.nonce}
    held = session.held_credentials(refs)

    for record in open_mints:
        found = by_nonce.get(record.nonce or "")
        if found is None:
            log.void(record.id, run_id)
            continue
        assert record.nonce is not None
        log.issued(record.nonce, found.ref.credential_id)
        if found.revoked or (held is not None and found.ref.credential_id in held):
            continue
        if held is not None:
            log.schedule_revocation(
                run_id, project=project, system=record.system, kind=record.kind,
                parent_id=record.parent_id, parent_name=record.parent_name,
                credential_id=found.ref.credential_id,
                reason="minted by an interrupted run and never delivered",
            )

    if held is not None:
        pending = {r.credential_id for r in log.pending(project)}
        for credential in issued:
            ref = credential.ref
            if (credential.minted_here and not credential.revoked
                    and ref.credential_id not in held and ref.credential_id not in pending):
                log.schedule_revocation(
                    run_id, project=project, system=ref.system, kind=ref.kind,
                    parent_id=ref.parent_id, parent_name=ref.parent_name,
                    credential_id=ref.credential_id, reason="no variable holds it",
                )

    revoked_before = {c.ref.credential_id for c in issued if c.revoked}
    for record in log.records(project, ("issued",)):
        if record.credential_id in revoked_before:  # revoked outside converge
            log.revoked(record.id, run_id)
    done: list[Revocation] = []
    for record in log.due(project):
        assert record.credential_id is not None
        ref = CredentialRef(record.system, record.kind, record.parent_id, record.parent_name,
                            record.credential_id)
        if record.credential_id not in revoked_before:
            resolver.revoke(ref)
            done.append(Revocation(ref, record.reason or "revocation due"))
        log.revoked(record.id, run_id)
    return done


def settle_quietly(session: Session, journal: Journal, run_id: str) -> list[Revocation]:
    """``settle_credentials`` after a failed apply: what cannot be done now stays pending
    in the journal for the next run (the run's own error is what the user must see)."""
    try:
        return settle_credentials(session, journal, run_id)
    except ConvergeError:
        return []
