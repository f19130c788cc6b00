"""``POST /database/query``: run SQL on the project's real PostgreSQL database.

Why real SQL: converge reads ``pg_class.relrowsecurity`` and enables RLS through this
endpoint, so the sandbox must execute exactly what it sends, as the role the service runs
it as (the caller passes that role's URL: ``postgres``, or ``supabase_read_only_user``).
Vendor behaviour reproduced (the service runs queries through ``postgres-meta``): the
answer is a JSON array of row objects (keys in column order) of the last statement that
returned rows, ``[]`` when none did; ``parameters`` bind ``$1…``; an SQL error is a 400
whose message is ``Failed to run sql query: `` followed by the error as ``psql`` prints it:
``ERROR:  42P01: relation "x" does not exist``, then ``LINE n: …`` with a caret under the
position, ``DETAIL:``, ``HINT:``, ``QUERY:`` and ``CONTEXT:`` lines when PostgreSQL gives
them, each line ending in a newline.

JSON typing (not documented by the vendor): integers, floats and booleans are JSON
values, ``numeric`` is a string (no precision lost), times are ISO 8601 strings, ``json``
columns are nested JSON, bytes are ``\\x``-hex strings.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import uuid
from typing import Any

import psycopg
from psycopg.rows import dict_row

from converge_sandbox.supabase.errors import ApiError

Row = dict[str, Any]
_STATEMENT_TIMEOUT_MS = 60_000


def run_query(
    database_url: str, query: str, *, parameters: list[Any] | None = None,
    read_only: bool = False, failure: str = "Failed to run sql query",
) -> list[Row]:
    """Rows of the last statement of ``query`` that returned any (400 ``ApiError`` on an
    SQL error, its message starting with ``failure``)."""
    options = f"-c statement_timeout={_STATEMENT_TIMEOUT_MS}"
    if read_only:
        options += " -c default_transaction_read_only=on"
    try:
        with psycopg.connect(database_url, autocommit=True, options=options) as conn:
            if parameters:
                # RawCursor sends $1-style placeholders to the server unchanged.
                with psycopg.RawCursor(conn, row_factory=dict_row) as raw:
                    raw.execute(query.encode(), parameters)
                    return _rows(raw.fetchall() if raw.description else [])
            with conn.cursor(row_factory=dict_row) as cur:
                cur.execute(query.encode())
                rows: list[Row] = []
                while True:
                    result = cur.fetchall() if cur.description else []
                    rows = result or rows
                    if not cur.nextset():
                        break
                return _rows(rows)
    except psycopg.Error as exc:
        if exc.diag.sqlstate is None:
            raise ApiError(500, failure) from None
        raise ApiError(400, f"{failure}: {format_error(exc.diag, query)}") from None


def format_error(diag: psycopg.errors.Diagnostic, query: str) -> str:
    """The error as postgres-meta formats it for the service (psql's layout)."""
    text = f"{diag.severity_nonlocalized or diag.severity or 'ERROR'}:  "
    text += f"{diag.sqlstate}: {diag.message_primary or ''}\n"
    if diag.statement_position:
        position = int(diag.statement_position) - 1
        offset = 0
        for number, line in enumerate(query.split("\n"), start=1):
            if offset + len(line) > position:
                column = position - offset
                text += f"LINE {number}: {line}\n{' ' * (5 + len(str(number)) + 2 + column)}^\n"
                break
            offset += len(line) + 1
    for label, value in (("DETAIL", diag.message_detail), ("HINT", diag.message_hint),
                         ("QUERY", diag.internal_query), ("CONTEXT", diag.context)):
        if value:
            text += f"{label}:  {value}\n"
    return text


def _rows(rows: list[Row]) -> list[Row]:
    return [{key: to_json(value) for key, value in row.items()} for row in rows]


def to_json(value: Any) -> Any:
    """A database value as the JSON the endpoint returns."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value).replace("inf", "Infinity").replace("nan", "NaN")  # not JSON numbers
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return str(value)
