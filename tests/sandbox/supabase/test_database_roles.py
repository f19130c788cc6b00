"""SQL through the Management API meets Supabase's roles, by raw request.

``/database/query`` runs as ``postgres``, which is not a superuser: what only a superuser
may do fails with the service's 400 ``Failed to run sql query: ERROR:  42501: …``.
``/database/query/read-only`` runs as ``supabase_read_only_user``, which holds no write
privilege, so not even ``BEGIN READ WRITE`` lets it change anything. Supabase's roles and
the ``auth`` helpers RLS policies call exist, and the version the project reports is the
version of the server that answers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from converge_sandbox.postgres import PostgresServer

from .conftest import AUTH_EU, JOURNAL

pytestmark = pytest.mark.anyio
QUERY = f"/v1/projects/{JOURNAL}/database/query"
READ_ONLY = f"/v1/projects/{JOURNAL}/database/query/read-only"


async def sql(client: httpx.AsyncClient, query: str, *, path: str = QUERY,
              **extra: Any) -> httpx.Response:
    return await client.post(path, json={"query": query, **extra})


def message(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    text: str = response.json()["message"]
    return text


async def test_queries_run_as_postgres_which_is_not_a_superuser(
    client: httpx.AsyncClient,
) -> None:
    response = await sql(client, "select current_user as who, rolsuper, rolcreaterole, "
                                 "rolcreatedb, rolbypassrls from pg_roles "
                                 "where rolname = current_user")
    assert response.status_code == 201
    assert response.json() == [{"who": "postgres", "rolsuper": False, "rolcreaterole": True,
                                "rolcreatedb": True, "rolbypassrls": True}]


@pytest.mark.parametrize(("statement", "expected"), [
    ("create role converge_probe superuser",
     "ERROR:  42501: permission denied to create role\n"
     "DETAIL:  Only roles with the SUPERUSER attribute may create roles with the SUPERUSER "
     "attribute.\n"),
    ("alter role postgres superuser",
     "ERROR:  42501: permission denied to alter role\n"),
    ("alter system set work_mem = '1MB'",
     'ERROR:  42501: permission denied to set parameter "work_mem"\n'),
    ("create function converge_probe() returns int language c as 'x', 'y'",
     "ERROR:  42501: permission denied for language c\n"),
    ("select pg_read_file('/etc/hostname')",
     "ERROR:  42501: permission denied for function pg_read_file\n"),
    ("create temp table probe (line text); copy probe from '/etc/hostname'",
     "ERROR:  42501: permission denied to COPY from a file\n"),
    ("grant pg_execute_server_program to postgres",
     'ERROR:  42501: permission denied to grant role "pg_execute_server_program"\n'),
    ("set role supabase_admin",
     'ERROR:  42501: permission denied to set role "supabase_admin"\n'),
    # The sandbox's projects share one server: one project cannot reach into another's.
    (f"drop database {AUTH_EU}",
     f"ERROR:  42501: must be owner of database {AUTH_EU}\n"),
    ("alter role supabase_read_only_user password 'taken'",
     "ERROR:  42501: permission denied to alter role\n"),
    ("alter role anon set statement_timeout = '1h'",
     "ERROR:  42501: permission denied to alter role\n"),
])
async def test_superuser_only_statements_fail_with_the_services_error(
    client: httpx.AsyncClient, statement: str, expected: str
) -> None:
    text = message(await sql(client, statement))
    assert text.startswith("Failed to run sql query: " + expected.split("\n")[0] + "\n")
    assert expected in text


async def test_copy_to_program_runs_nothing_on_the_host(
    client: httpx.AsyncClient, tmp_path: Any
) -> None:
    marker = tmp_path / "pwned"
    text = message(await sql(client, f"copy (select 1) to program 'touch {marker}'"))
    assert "42501: permission denied to COPY to or from an external program" in text
    assert not marker.exists()


async def test_postgres_keeps_what_supabase_grants_it(client: httpx.AsyncClient) -> None:
    """Not a superuser, yet: create tables in public (and own them), roles, switch to the
    API roles, read auth.users."""
    name = "probe_" + uuid.uuid4().hex[:8]
    response = await sql(client, f"""
        create table public.{name} (id int);
        create role {name}_role nologin;
        set role authenticated; reset role;
        select c.relowner::regrole::text as owner,
               (select count(*) from auth.users) >= 0 as reads_auth
        from pg_class c where c.oid = 'public.{name}'::regclass;
    """)
    try:
        assert response.status_code == 201, response.text
        assert response.json() == [{"owner": "postgres", "reads_auth": True}]
    finally:
        await sql(client, f"drop table if exists public.{name}; drop role if exists {name}_role")


async def test_supabase_roles_exist_with_their_attributes(client: httpx.AsyncClient) -> None:
    response = await sql(client, """
        select rolname, rolsuper, rolcanlogin, rolinherit, rolbypassrls
        from pg_roles
        where rolname in ('postgres', 'anon', 'authenticated', 'service_role',
                          'authenticator', 'supabase_admin', 'supabase_read_only_user')
        order by rolname""")
    roles = {row.pop("rolname"): row for row in response.json()}
    assert roles == {
        "anon": {"rolsuper": False, "rolcanlogin": False, "rolinherit": True,
                 "rolbypassrls": False},
        "authenticated": {"rolsuper": False, "rolcanlogin": False, "rolinherit": True,
                          "rolbypassrls": False},
        "authenticator": {"rolsuper": False, "rolcanlogin": True, "rolinherit": False,
                          "rolbypassrls": False},
        "postgres": {"rolsuper": False, "rolcanlogin": True, "rolinherit": True,
                     "rolbypassrls": True},
        "service_role": {"rolsuper": False, "rolcanlogin": False, "rolinherit": True,
                         "rolbypassrls": True},
        "supabase_admin": {"rolsuper": True, "rolcanlogin": True, "rolinherit": True,
                           "rolbypassrls": True},
        "supabase_read_only_user": {"rolsuper": False, "rolcanlogin": True,
                                    "rolinherit": True, "rolbypassrls": True},
    }
    members = await sql(client, """
        select pg_has_role('authenticator', 'authenticated', 'MEMBER') as authenticator,
               pg_has_role('supabase_read_only_user', 'pg_read_all_data', 'MEMBER') as reader,
               pg_has_role('postgres', 'service_role', 'MEMBER') as owner""")
    assert members.json() == [{"authenticator": True, "reader": True, "owner": True}]


# -- the read-only endpoint --------------------------------------------------------------


@pytest.fixture
def journal(postgres_server: PostgresServer) -> Iterator[psycopg.Connection[Any]]:
    """A ``postgres`` connection to the journal database, to check nothing changed."""
    with psycopg.connect(postgres_server.database_url(JOURNAL), autocommit=True) as conn:
        yield conn


def snapshot(conn: psycopg.Connection[Any]) -> tuple[Any, ...]:
    """What a write would change: the tables, tags, RLS flags, large objects, roles."""
    queries = (
        "select array_agg(c.relname::text order by c.relname) from pg_class c "
        "join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname in ('public', 'auth') and c.relkind = 'r'",
        "select array_agg(label order by label) from public.tags",
        "select relrowsecurity from pg_class where oid = 'public.tags'::regclass",
        "select count(*) from pg_largeobject_metadata",
        "select count(*) from pg_roles",
        "select count(*) from pg_namespace",
        "select last_value from public.tags_id_seq",
    )
    return tuple(conn.execute(q).fetchone() for q in queries)  # type: ignore[misc]


async def test_read_only_endpoint_runs_as_the_read_only_user(
    client: httpx.AsyncClient,
) -> None:
    response = await sql(client, "select current_user as who, count(*) as tags "
                                 "from public.tags", path=READ_ONLY)
    assert response.status_code == 201
    assert response.json() == [{"who": "supabase_read_only_user", "tags": 3}]


@pytest.mark.parametrize("statement", [
    "begin read write; create table public.escaped (a int); commit",
    "begin read write; insert into public.tags (label) values ('escaped'); commit",
    "begin read write; update public.tags set label = label || '!'; commit",
    "begin read write; delete from public.tags; commit",
    "begin read write; truncate public.tags; commit",
    "begin read write; alter table public.tags enable row level security; commit",
    "begin read write; drop table public.tags; commit",
    "begin read write; create schema escaped; commit",
    "begin read write; select lo_create(0); commit",
    "begin read write; select nextval('public.tags_id_seq'); commit",
    "begin read write; create role escaped; commit",
    "begin read write; insert into auth.users (id) values (gen_random_uuid()); commit",
    "set transaction read write; set default_transaction_read_only = off; "
    "insert into public.tags (label) values ('escaped')",
    "begin read write; set role postgres; delete from public.tags; commit",
    "begin read write; set session authorization postgres; delete from public.tags; commit",
])
async def test_read_only_user_cannot_write_even_in_a_read_write_transaction(
    client: httpx.AsyncClient, journal: psycopg.Connection[Any], statement: str
) -> None:
    """The transaction is read-write, so what stops each write is the missing privilege
    (42501), not the read-only default (25006)."""
    before = snapshot(journal)
    text = message(await sql(client, statement, path=READ_ONLY))
    assert text.startswith("Failed to run read-only sql query: ERROR:  42501: ")
    assert snapshot(journal) == before


async def test_read_only_flag_on_the_main_endpoint_cannot_write_either(
    client: httpx.AsyncClient, journal: psycopg.Connection[Any]
) -> None:
    before = snapshot(journal)
    statement = "begin read write; delete from public.tags; commit"
    text = message(await sql(client, statement, read_only=True))
    assert "42501: permission denied for table tags" in text
    assert snapshot(journal) == before


async def test_read_only_references_must_be_schema_qualified(
    client: httpx.AsyncClient,
) -> None:
    text = message(await sql(client, "select count(*) from tags", path=READ_ONLY))
    assert '42P01: relation "tags" does not exist' in text


# -- auth helpers in RLS policies ----------------------------------------------------------


@pytest.fixture
def notes(journal: psycopg.Connection[Any]) -> Iterator[tuple[str, str]]:
    """A table whose policy lets a user read only their own notes; two users' notes."""
    ada, grace = str(uuid.uuid4()), str(uuid.uuid4())
    journal.execute("""
        create table public.rls_notes (owner uuid not null, body text not null);
        alter table public.rls_notes enable row level security;
        create policy "own notes" on public.rls_notes for select to authenticated
          using (owner = auth.uid());
    """)
    journal.execute("insert into public.rls_notes values (%s, 'ada 1'), (%s, 'ada 2'), "
                    "(%s, 'grace 1')", (ada, ada, grace))
    try:
        yield ada, grace
    finally:
        journal.execute("drop table public.rls_notes")


async def test_auth_uid_in_a_policy_reads_the_request_jwt_claims(
    client: httpx.AsyncClient, notes: tuple[str, str]
) -> None:
    ada, _ = notes
    claims = f'{{"sub": "{ada}", "role": "authenticated", "email": "ada@example.com"}}'
    response = await sql(client, f"""
        begin;
        set local role authenticated;
        select set_config('request.jwt.claims', '{claims}', true);
        select body, auth.uid()::text as uid, auth.role() as role,
               auth.jwt() ->> 'email' as email, auth.email() as legacy_email
        from public.rls_notes order by body;
        commit;
    """)
    assert response.status_code == 201, response.text
    assert response.json() == [
        {"body": "ada 1", "uid": ada, "role": "authenticated", "email": "ada@example.com",
         "legacy_email": "ada@example.com"},
        {"body": "ada 2", "uid": ada, "role": "authenticated", "email": "ada@example.com",
         "legacy_email": "ada@example.com"},
    ]


async def test_without_claims_the_policy_shows_nothing(
    client: httpx.AsyncClient, notes: tuple[str, str]
) -> None:
    response = await sql(client, "begin; set local role authenticated; "
                                 "select count(*) as n, auth.uid() as uid "
                                 "from public.rls_notes; commit")
    assert response.json() == [{"n": 0, "uid": None}]


async def test_the_per_claim_settings_postgrest_once_used_still_work(
    client: httpx.AsyncClient, notes: tuple[str, str]
) -> None:
    _, grace = notes
    response = await sql(client, f"""
        begin; set local role authenticated;
        select set_config('request.jwt.claim.sub', '{grace}', true);
        select body from public.rls_notes; commit""")
    assert response.json() == [{"body": "grace 1"}]


# -- versions ------------------------------------------------------------------------------


async def test_reported_versions_are_the_running_servers(client: httpx.AsyncClient) -> None:
    served = (await sql(client, "select current_setting('server_version') as version, "
                                "current_setting('server_version_num')::int / 10000 "
                                "as major")).json()[0]
    project = (await client.get(f"/v1/projects/{AUTH_EU}")).json()
    assert project["database"]["version"] == served["version"].split()[0]
    assert project["database"]["postgres_engine"] == str(served["major"])
    listed = {p["ref"]: p for p in (await client.get("/v1/projects")).json()}
    assert listed[JOURNAL]["database"]["postgres_engine"] == str(served["major"])
    config = (await client.get(f"/v2/projects/{JOURNAL}/config")).json()
    assert config["data"]["attributes"]["database"]["major_version"] == served["major"]
