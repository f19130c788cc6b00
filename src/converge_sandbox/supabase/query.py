"""``POST /database/query``: run SQL on the project's real PostgreSQL database.

Why real SQL: converge reads ``pg_class.relrowsecurity`` and enables RLS through this
endpoint, so the sandbox must execute exactly what it sends. Vendor behaviour reproduced:
the answer is a JSON array of row objects (keys in column order) of the **last**
statement, ``[]`` for statements without rows; ``parameters`` bind ``$1…``; ``read_only``
runs in a read-only transaction; an SQL error is a 400 whose message carries the SQLSTATE
(``Failed to run sql query: ERROR:  42P01: relation "x" does not exist``).

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
    read_only: bool = False,
) -> list[Row]:
    """Rows of the last statement of ``query`` (400 ``ApiError`` on an SQL error)."""
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
                    rows = cur.fetchall() if cur.description else []
                    if not cur.nextset():
                        break
                return _rows(rows)
    except psycopg.Error as exc:
        diag = exc.diag
        if diag.sqlstate is None:
            raise ApiError(500, "Failed to run sql query") from None
        raise ApiError(
            400, f"Failed to run sql query: ERROR:  {diag.sqlstate}: {diag.message_primary}"
        ) from None


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
