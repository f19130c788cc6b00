"""The SQL query endpoints run on the project's real database."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import psycopg
import pytest

from converge_sandbox.postgres import PostgresServer
from converge_sandbox.world import SandboxWorld

from .conftest import AUTH_EU, JOURNAL

pytestmark = pytest.mark.anyio


def relrowsecurity(url: str, table: str) -> bool:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "select relrowsecurity from pg_class where oid = %s::regclass", (table,)
        ).fetchone()
    assert row is not None
    return bool(row[0])


@pytest.fixture
def journal_url(postgres_server: PostgresServer, world: SandboxWorld) -> Iterator[str]:
    """The journal database; ``public.tags`` is put back without RLS afterwards."""
    url = postgres_server.database_url(JOURNAL)
    yield url
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("alter table public.tags disable row level security")


async def test_enabling_rls_through_the_endpoint_changes_the_database(
    client: httpx.AsyncClient, journal_url: str
) -> None:
    assert relrowsecurity(journal_url, "public.tags") is False
    response = await client.post(
        f"/v1/projects/{JOURNAL}/database/query",
        json={"query": 'alter table "public"."tags" enable row level security;'},
    )
    assert response.status_code == 201
    assert response.json() == []
    assert relrowsecurity(journal_url, "public.tags") is True


async def test_rows_come_back_as_objects_in_column_order(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"/v1/projects/{JOURNAL}/database/query",
        json={"query": "select 1 as id, 'x' as name, 2.50::numeric as price, true as ok"},
    )
    assert response.status_code == 201
    assert response.text.index('"id"') < response.text.index('"name"')
    assert response.json() == [{"id": 1, "name": "x", "price": "2.50", "ok": True}]


async def test_multi_statement_returns_the_last_statement_rows(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        f"/v1/projects/{JOURNAL}/database/query",
        json={"query": "select 1 as a; select label from public.tags order by label"},
    )
    assert response.json() == [{"label": "ideas"}, {"label": "travel"}, {"label": "work"}]


async def test_statements_without_rows_after_the_last_rows_do_not_hide_them(
    client: httpx.AsyncClient,
) -> None:
    """postgres-meta answers the last result that has rows: a trailing ``commit`` (or a
    query matching nothing) does not empty the answer."""
    response = await client.post(
        f"/v1/projects/{JOURNAL}/database/query",
        json={"query": "begin; select label from public.tags where label = 'work'; "
                       "select 1 where false; commit"},
    )
    assert response.status_code == 201
    assert response.json() == [{"label": "work"}]


async def test_parameters_bind_dollar_placeholders(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"/v1/projects/{JOURNAL}/database/query",
        json={"query": "select username from public.profiles where username = $1",
              "parameters": ["ada"]},
    )
    assert response.json() == [{"username": "ada"}]


async def test_sql_error_is_400_with_sqlstate_and_the_line_like_psql(
    client: httpx.AsyncClient,
) -> None:
    """As the service formats it (postgres-meta): severity, SQLSTATE, message, then the
    offending line with a caret under the position (bolt.new#7058 shows one)."""
    response = await client.post(f"/v1/projects/{JOURNAL}/database/query",
                                 json={"query": "select 1;\nselect * from missing_table"})
    assert response.status_code == 400
    assert response.json() == {
        "message": 'Failed to run sql query: ERROR:  42P01: relation "missing_table" '
                   "does not exist\n"
                   "LINE 2: select * from missing_table\n"
                   "                      ^\n"
    }


async def test_detail_and_hint_lines_follow_the_message(client: httpx.AsyncClient) -> None:
    response = await client.post(f"/v1/projects/{JOURNAL}/database/query",
                                 json={"query": "copy (select 1) to program 'true'"})
    assert response.status_code == 400
    assert response.json()["message"] == (
        "Failed to run sql query: ERROR:  42501: permission denied to COPY to or from an "
        "external program\n"
        'DETAIL:  Only roles with privileges of the "pg_execute_server_program" role may '
        "COPY to or from an external program.\n"
        "HINT:  Anyone can COPY to stdout or from stdin. psql's \\copy command also works "
        "for anyone.\n"
    )


async def test_read_only_endpoint_refuses_writes(client: httpx.AsyncClient) -> None:
    url = f"/v1/projects/{JOURNAL}/database/query/read-only"
    read = await client.post(url, json={"query": "select count(*) as n from public.tags"})
    assert read.status_code == 201 and read.json() == [{"n": 3}]
    write = await client.post(url, json={"query": "delete from public.tags"})
    assert write.status_code == 400 and "25006" in write.json()["message"]


async def test_each_project_has_its_own_database(client: httpx.AsyncClient) -> None:
    query = {"query": "select current_database() as db"}
    eu = await client.post(f"/v1/projects/{AUTH_EU}/database/query", json=query)
    journal = await client.post(f"/v1/projects/{JOURNAL}/database/query", json=query)
    assert eu.json() != journal.json()


async def test_security_advisor_flags_public_tables_without_rls(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(f"/v1/projects/{JOURNAL}/advisors/security")
    assert response.status_code == 200
    flagged = {
        lint["metadata"]["name"]
        for lint in response.json()["lints"]
        if lint["name"] == "rls_disabled_in_public"
    }
    assert flagged == {"profiles", "tags"}


async def test_values_without_a_json_number_come_back_as_strings(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        f"/v1/projects/{JOURNAL}/database/query",
        json={"query": "select 'NaN'::float8 as nan, '-Infinity'::float8 as low, "
                       "'\\x0102'::bytea as raw, '{\"a\": [1]}'::jsonb as doc"},
    )
    assert response.status_code == 201
    assert response.json() == [
        {"nan": "NaN", "low": "-Infinity", "raw": "\\x0102", "doc": {"a": [1]}}
    ]
