"""What only the PostgreSQL state does: a URL's password is never shown, and a run on
another machine is judged by the project's advisory lock."""

from __future__ import annotations

import urllib.parse
import uuid
from pathlib import Path

import pytest

from converge.engine.journal import open_journal
from converge.engine.locks import acquire_lock
from converge.errors import JournalError
from converge_sandbox.postgres import PostgresServer


def test_a_refused_connection_names_the_server_but_not_the_password(
        journal_pg: PostgresServer, tmp_path: Path) -> None:
    parts = urllib.parse.urlsplit(journal_pg.database_url("jt_refused"))
    url = parts._replace(netloc=f"postgres:S3cretWrong@{parts.hostname}:{parts.port}").geturl()
    with pytest.raises(JournalError) as caught:
        open_journal(url, tmp_path)
    text = str(caught.value) + caught.value.hint
    assert "127.0.0.1" in text and "jt_refused" in text
    assert "S3cretWrong" not in text


def test_a_run_of_another_machine_is_interrupted_only_once_its_advisory_lock_is_free(
        journal_pg: PostgresServer, tmp_path: Path) -> None:
    url = journal_pg.database_url("jt_" + uuid.uuid4().hex[:16])
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with open_journal(url, tmp_path / "a") as here, open_journal(url, tmp_path / "b") as there:
        with acquire_lock(there, "journal", command="apply"):
            run = there.begin_run("journal", systems=["vercel"], command="apply", actor="b")
            there.db.execute("UPDATE converge_runs SET host = 'build-box-7' WHERE id = ?",
                             (run.id,))
            seen = here.get_run(run.id)
            assert seen is not None and seen.result == "running"
        seen = here.get_run(run.id)
        assert seen is not None and seen.result == "interrupted"
