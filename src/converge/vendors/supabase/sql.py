"""The SQL converge runs on a project database, and safe identifier quoting (pure).

Why a module of its own: the same two statements go either through the Management API's
query endpoint or straight to ``SUPABASE_DB_URL``, and the quoting must be right in one
place. Schema names reach the listing as a bound array parameter (``$1``), never spliced
into the text; table names reach ``ALTER TABLE`` only through ``quote_ident``.
"""

from __future__ import annotations

# Every ordinary and partitioned table of the given schemas, extension-owned tables left
# out (an extension's tables are not the project's to change; supabase-api.md §6a).
LIST_TABLES = """\
select n.nspname as schema_name, c.relname as table_name, c.relrowsecurity as rls
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('r', 'p')
  and n.nspname = any($1::text[])
  and not exists (
    select 1 from pg_catalog.pg_depend d
    where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid and d.deptype = 'e'
  )
order by 1, 2"""


def quote_ident(name: str) -> str:
    """``name`` as a PostgreSQL quoted identifier: double quotes, inner quotes doubled.
    A NUL byte cannot be part of an identifier and is refused."""
    if not name or "\x00" in name:
        raise ValueError("an SQL identifier must be non-empty and free of NUL bytes")
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, table: str) -> str:
    return f"{quote_ident(schema)}.{quote_ident(table)}"


def enable_rls(schema: str, table: str) -> str:
    """The idempotent statement that turns row-level security on for one table."""
    return f"alter table {qualified(schema, table)} enable row level security"
