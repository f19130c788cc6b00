"""Supabase's roles, and the template every project database is cloned from.

Why: on Supabase, SQL sent through the Management API runs as ``postgres``, which is **not**
a superuser (``supabase_admin`` is). The sandbox must refuse what the service refuses
(``COPY … TO PROGRAM``, ``CREATE ROLE … SUPERUSER``, ``ALTER SYSTEM``, untrusted
languages, reading server files), so its cluster is laid out like a Supabase project's:

* ``supabase_admin`` is the cluster's bootstrap superuser; the sandbox itself connects as it;
* ``postgres``: ``LOGIN CREATEDB CREATEROLE REPLICATION BYPASSRLS``, not a superuser, a
  member of ``anon``, ``authenticated``, ``service_role``, ``pg_read_all_data``,
  ``pg_signal_backend`` and ``pg_monitor``; it owns schema ``public`` and what it creates
  (on a server older than PostgreSQL 16 it loses ``CREATEROLE``, which there could grant
  itself ``pg_execute_server_program``);
* ``anon``, ``authenticated`` (``NOLOGIN``), ``service_role`` (``NOLOGIN BYPASSRLS``);
  ``authenticator`` (``LOGIN NOINHERIT``, may switch to those three, as PostgREST does);
  ``supabase_auth_admin`` owns the ``auth`` schema's tables and functions;
* ``supabase_read_only_user``: ``LOGIN BYPASSRLS``, a member of ``pg_read_all_data`` only,
  read-only transactions by default and an empty ``search_path`` (the read-only endpoint
  says "All entity references must be schema qualified"). It holds no write privilege, so
  even ``BEGIN READ WRITE`` cannot change anything (large-object creation, which needs no
  privilege in PostgreSQL, is withdrawn from PUBLIC in project databases).

Facts from Supabase's own migrations (``supabase/postgres``: initial schema, auth schema,
"demote postgres", later role grants) and the April 2025 restriction of the ``auth`` schema
(``postgres`` may read and write ``auth.users`` and reference it, not create objects there).
The ``auth`` helpers read the claims the way Supabase's do: the per-claim settings
``request.jwt.claim.<name>`` first, then the JSON in ``request.jwt.claims``.

Roles are cluster-wide, so ``bootstrap_cluster`` creates them once per cluster; the schemas,
grants and ``auth`` objects live in the template database ``supabase_template``, so a
project's database is one ``CREATE DATABASE … TEMPLATE`` (a file copy, no SQL to replay).
The template carries a version comment: a template of another version is rebuilt.
"""

from __future__ import annotations

import hashlib
import hmac

import psycopg
from psycopg import sql

from converge.errors import SandboxError

ADMIN = "supabase_admin"
OWNER = "postgres"
READ_ONLY = "supabase_read_only_user"
TEMPLATE = "supabase_template"
_TEMPLATE_MARK = "converge supabase template v2"
_LOGIN_ROLES = (OWNER, READ_ONLY)  # the roles the sandbox connects as, besides ADMIN
_LOCK_KEY = 0x5B7E_0001  # advisory lock: one bootstrap at a time on a shared server
_SCRAM_ITERATIONS_FROM = 160000  # the setting exists from PostgreSQL 16 on
_CREATEROLE_SAFE_FROM = 160000  # server_version_num from which CREATEROLE cannot escalate

# Cluster-wide: the roles, their attributes, memberships and settings (idempotent).
_ROLES_SQL = """
do $$
declare
  wanted text[] := array['postgres', 'anon', 'authenticated', 'service_role',
                         'authenticator', 'supabase_auth_admin', 'supabase_read_only_user'];
  name text;
begin
  foreach name in array wanted loop
    if not exists (select from pg_catalog.pg_roles where rolname = name) then
      execute format('create role %I', name);
    end if;
  end loop;
end
$$;
alter role postgres with login nosuperuser createdb createrole replication bypassrls inherit;
alter role anon with nologin inherit;
alter role authenticated with nologin inherit;
alter role service_role with nologin inherit bypassrls;
alter role authenticator with login noinherit;
alter role supabase_auth_admin with login noinherit createrole;
alter role supabase_read_only_user with login bypassrls;
grant anon, authenticated, service_role to authenticator;
grant anon, authenticated, service_role to postgres;
grant pg_read_all_data, pg_signal_backend, pg_monitor to postgres;
grant pg_read_all_data to supabase_read_only_user;
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';
alter role postgres set search_path = "$user", public, extensions;
alter role supabase_read_only_user set default_transaction_read_only = on;
alter role supabase_read_only_user set search_path = '';
"""

# In the template database, as the superuser.
_TEMPLATE_SQL = """
alter schema public owner to postgres;
grant usage on schema public to anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on tables to anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on sequences to anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on functions to anon, authenticated, service_role;

create schema extensions;
grant all on schema extensions to postgres;
grant usage on schema extensions to anon, authenticated, service_role;
create schema graphql_public;
grant usage on schema graphql_public to postgres, anon, authenticated, service_role;

create schema auth authorization supabase_admin;
grant usage on schema auth to postgres, anon, authenticated, service_role;
create table auth.users (
  instance_id uuid,
  id uuid not null primary key,
  aud varchar(255),
  role varchar(255),
  email varchar(255),
  encrypted_password varchar(255),
  email_confirmed_at timestamptz,
  invited_at timestamptz,
  confirmation_token varchar(255),
  confirmation_sent_at timestamptz,
  recovery_token varchar(255),
  recovery_sent_at timestamptz,
  email_change varchar(255),
  last_sign_in_at timestamptz,
  raw_app_meta_data jsonb,
  raw_user_meta_data jsonb,
  is_super_admin boolean,
  created_at timestamptz,
  updated_at timestamptz,
  phone text unique,
  phone_confirmed_at timestamptz,
  banned_until timestamptz,
  deleted_at timestamptz,
  is_sso_user boolean not null default false,
  is_anonymous boolean not null default false
);
create unique index users_email_partial_key on auth.users (email) where is_sso_user = false;
comment on table auth.users is 'Auth: Stores user login data within a secure schema.';

create function auth.jwt() returns jsonb language sql stable as $fn$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$fn$;
create function auth.uid() returns uuid language sql stable as $fn$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$fn$;
create function auth.role() returns text language sql stable as $fn$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$fn$;
create function auth.email() returns text language sql stable as $fn$
  select coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$fn$;
comment on function auth.uid() is 'Deprecated. Use auth.jwt() -> ''sub'' instead.';
comment on function auth.role() is 'Deprecated. Use auth.jwt() -> ''role'' instead.';
comment on function auth.email() is 'Deprecated. Use auth.jwt() -> ''email'' instead.';
alter table auth.users owner to supabase_auth_admin;
alter function auth.jwt() owner to supabase_auth_admin;
alter function auth.uid() owner to supabase_auth_admin;
alter function auth.role() owner to supabase_auth_admin;
alter function auth.email() owner to supabase_auth_admin;
grant select, insert, update, delete, references, trigger on auth.users to postgres;
grant execute on function auth.jwt(), auth.uid(), auth.role(), auth.email()
  to postgres, anon, authenticated, service_role;

-- Creating a large object needs no privilege in PostgreSQL; keep it from the read-only user.
revoke execute on function lo_create(oid), lo_creat(integer), lo_from_bytea(oid, bytea)
  from public;
grant execute on function lo_create(oid), lo_creat(integer), lo_from_bytea(oid, bytea)
  to postgres, anon, authenticated, service_role;
"""


def role_password(secret: str, role: str) -> str:
    """The password of a login role: derived from the cluster's secret, one per role."""
    return hmac.new(secret.encode(), role.encode(), hashlib.sha256).hexdigest()[:32]


def bootstrap_cluster(admin_url: str, secret: str) -> None:
    """Make the server look like a Supabase project's: roles (with passwords derived from
    ``secret``) and the template database. Idempotent, quick when already done, and safe
    when several processes share one server (an advisory lock orders them)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        _require_superuser(conn)
        conn.execute("select pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            _bootstrap_roles(conn, secret)
            if _template_mark(conn) != _TEMPLATE_MARK:
                _build_template(conn, admin_url)
        finally:
            conn.execute("select pg_advisory_unlock(%s)", (_LOCK_KEY,))


def create_project_database(admin_url: str, name: str) -> None:
    """The project's database, cloned from the template (a no-op if it exists)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("select from pg_database where datname = %s", (name,)).fetchone():
            return
        ident = sql.Identifier(name)
        try:
            conn.execute(sql.SQL("create database {} template {}").format(
                ident, sql.Identifier(TEMPLATE)))
        except psycopg.errors.DuplicateDatabase:
            return
        conn.execute(sql.SQL("grant all on database {} to {}").format(
            ident, sql.Identifier(OWNER)))


def _require_superuser(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    row = conn.execute(
        "select rolsuper, current_user from pg_roles where rolname = current_user"
    ).fetchone()
    if row is None or not row[0]:
        raise SandboxError(
            "the sandbox's PostgreSQL connection is not a superuser",
            hint="point CONVERGE_SANDBOX_PG_URL at a superuser other than 'postgres' "
                 "(e.g. supabase_admin)",
        )
    if row[1] == OWNER:
        raise SandboxError(
            "the sandbox's PostgreSQL superuser is named 'postgres', which on Supabase is "
            "not a superuser",
            hint="point CONVERGE_SANDBOX_PG_URL at a superuser with another name "
                 "(e.g. initdb -U supabase_admin)",
        )


def _bootstrap_roles(conn: psycopg.Connection[tuple[object, ...]], secret: str) -> None:
    row = conn.execute("select rolsuper from pg_roles where rolname = %s", (OWNER,)).fetchone()
    if row is not None and row[0]:  # never demote someone else's superuser
        raise SandboxError(
            "the PostgreSQL server's 'postgres' role is a superuser, which on Supabase it is "
            "not",
            hint="point CONVERGE_SANDBOX_PG_URL at a server without a superuser 'postgres'",
        )
    conn.execute(_ROLES_SQL.encode())
    row = conn.execute("select current_setting('server_version_num')").fetchone()
    if row is not None and int(str(row[0])) < _CREATEROLE_SAFE_FROM:
        # Before PostgreSQL 16, CREATEROLE may grant itself pg_execute_server_program
        # (Supabase blocks that with its supautils extension, which the sandbox lacks).
        conn.execute("alter role postgres nocreaterole")
    if row is not None and int(str(row[0])) >= _SCRAM_ITERATIONS_FROM:
        # The Supabase emulator opens a connection per SQL request, and the client's
        # PBKDF2 over the default 4,096 SCRAM iterations was most of its CPU (3.2 ms a
        # connection, 0.7 with one): one iteration keeps SCRAM authentication; the
        # passwords stay random and known only to this cluster's sandbox.
        conn.execute("set scram_iterations = 1")
    for role in _LOGIN_ROLES:
        conn.execute(sql.SQL("alter role {} password {}").format(
            sql.Identifier(role), sql.Literal(role_password(secret, role))))


def _template_mark(conn: psycopg.Connection[tuple[object, ...]]) -> str | None:
    row = conn.execute(
        "select shobj_description(oid, 'pg_database') from pg_database where datname = %s",
        (TEMPLATE,),
    ).fetchone()
    return None if row is None else str(row[0])


def _build_template(conn: psycopg.Connection[tuple[object, ...]], admin_url: str) -> None:
    """(Re)create the template database; it accepts no connections once built."""
    ident = sql.Identifier(TEMPLATE)
    conn.execute(sql.SQL("drop database if exists {} with (force)").format(ident))
    conn.execute(sql.SQL("create database {} template template0 encoding 'UTF8'").format(ident))
    with psycopg.connect(admin_url, dbname=TEMPLATE, autocommit=True) as template:
        template.execute(_TEMPLATE_SQL.encode())
        # Every ref's database is a copy: compact the catalogs the build left behind
        # (a clone is 13 % smaller) and freeze them, so no clone needs vacuuming.
        template.execute("vacuum (full, freeze)")
    conn.execute(sql.SQL("revoke all on database {} from public").format(ident))
    conn.execute(sql.SQL("alter database {} allow_connections false").format(ident))
    conn.execute(sql.SQL("comment on database {} is {}").format(
        ident, sql.Literal(_TEMPLATE_MARK)))
