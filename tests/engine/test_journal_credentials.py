"""The journal's credential records (schema version 2): a mint is journaled with its nonce
before the create, its id after; revocations owed are pending with a due time until done;
``status`` shows what is unsettled. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from converge.engine.journal import Journal, open_journal
from converge.engine.journal_credentials import due_time
from converge.engine.status import unsettled_credentials
from converge.errors import JournalError
from tests.e2e.conftest import run_in_process
from tests.support.workspace import copy_example_workspace

IDENTITY = ("id-1", "token-service@journal-prod")


def _run(journal: Journal) -> str:
    return journal.begin_run("journal", systems=["vercel"], command="apply", actor="t").id


def _mint(journal: Journal, run_id: str) -> str:
    record = journal.credentials.begin_mint(run_id, system="infisical", kind="client-secret",
                                            parent_id=IDENTITY[0], parent_name=IDENTITY[1])
    assert record.state == "minting" and record.credential_id is None
    assert record.nonce is not None
    return record.nonce


def test_a_mint_is_journaled_with_a_unique_nonce_then_its_id(journal: Journal) -> None:
    run_id = _run(journal)
    first, second = _mint(journal, run_id), _mint(journal, run_id)

    assert (first, second) == (f"{run_id}/1", f"{run_id}/2")
    issued = journal.credentials.issued(first, "cs-1")
    assert (issued.state, issued.credential_id) == ("issued", "cs-1")
    assert [r.nonce for r in journal.credentials.open_mints("journal")] == [second]


def test_a_replaced_secret_is_pending_until_revoked(journal: Journal) -> None:
    run_id = _run(journal)
    journal.credentials.issued(_mint(journal, run_id), "cs-1")

    pending = journal.credentials.schedule_revocation(
        run_id, project="journal", system="infisical", kind="client-secret",
        parent_id=IDENTITY[0], parent_name=IDENTITY[1], credential_id="cs-1",
        reason="replaced", due_at=due_time(3600),
    )

    assert pending.state == "revoke_pending" and pending.nonce is not None  # the same record
    assert journal.credentials.due("journal") == []  # not due within the grace period
    assert [r.credential_id for r in journal.credentials.pending("journal")] == ["cs-1"]
    done = journal.credentials.revoked(pending.id, run_id)
    assert (done.state, done.settled_by) == ("revoked", run_id)
    assert journal.credentials.pending("journal") == []


def test_a_lost_mint_found_by_its_nonce_is_due_at_once(journal: Journal) -> None:
    run_id = _run(journal)
    nonce = _mint(journal, run_id)

    record = journal.credentials.schedule_revocation(
        run_id, project="journal", system="infisical", kind="client-secret",
        parent_id=IDENTITY[0], parent_name=IDENTITY[1], credential_id="cs-lost",
        reason="its mint answer was lost", nonce=nonce,
    )

    assert (record.nonce, record.credential_id) == (nonce, "cs-lost")
    assert [r.id for r in journal.credentials.due("journal")] == [record.id]
    assert journal.credentials.open_mints("journal") == []


def test_a_secret_never_journaled_gets_a_record_of_its_own(journal: Journal) -> None:
    run_id = _run(journal)
    record = journal.credentials.schedule_revocation(
        run_id, project="journal", system="infisical", kind="client-secret",
        parent_id=IDENTITY[0], parent_name=IDENTITY[1], credential_id="cs-old",
        reason="no variable holds it",
    )
    assert (record.state, record.nonce) == ("revoke_pending", None)


def test_a_mint_that_never_happened_is_void_and_transitions_are_checked(
    journal: Journal,
) -> None:
    run_id = _run(journal)
    nonce = _mint(journal, run_id)
    [record] = journal.credentials.open_mints("journal")

    assert journal.credentials.void(record.id, run_id).state == "void"
    with pytest.raises(JournalError):
        journal.credentials.issued(nonce, "cs-late")


def test_a_mint_needs_a_running_run(journal: Journal) -> None:
    run_id = _run(journal)
    journal.finish_run(run_id, "succeeded")
    with pytest.raises(JournalError, match="not running"):
        _mint(journal, run_id)


def test_status_shows_the_mint_a_stopped_run_left_and_pending_revocations(
    tmp_path: Path,
) -> None:
    root = copy_example_workspace(tmp_path / "ws")
    with open_journal(".converge/state.db", root) as journal:
        live = _run(journal)
        _mint(journal, live)
        assert unsettled_credentials(journal, "journal") == []  # its run is still going
        journal.finish_run(live, "interrupted")
        later = _run(journal)
        journal.credentials.schedule_revocation(
            later, project="journal", system="infisical", kind="client-secret",
            parent_id=IDENTITY[0], parent_name=IDENTITY[1], credential_id="cs-9",
            reason="replaced by a newly minted secret",
        )
        journal.finish_run(later, "succeeded")

    result = run_in_process(root, "status", "journal")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any(line.startswith(f"  🔑 unsettled mint: client-secret (mint {live}/1) of "
                               "token-service@journal-prod") for line in lines), result.stdout
    assert any(line.startswith("  🔑 revocation pending: client-secret cs-9 of "
                               "token-service@journal-prod (due ") for line in lines)
    assert "  ▶ resume with: converge apply journal" in lines
