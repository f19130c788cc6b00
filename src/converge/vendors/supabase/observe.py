"""Reading the live state of the Supabase projects of one converge project (I/O only).

Per project ref, at most: one ``GET /config/auth``; one ``GET /postgrest`` (the exposed
schemas; its ``jwt_secret`` is dropped as it is parsed); one SQL statement listing every table
of the declared RLS schemas with its ``relrowsecurity`` (only when RLS is enforced); one
``GET /api-keys`` (only when the anon key is published; a second, ``reveal=true``, only if
the vendor redacted the key converge would publish). No per-object reads.

Secret auth fields come back as ``hex(HMAC-SHA256(key=ref, msg=value))``
(supabase-api.md §1b). To compare them, the desired secret is read through the
``ReferenceResolver`` here (never minted) and only its HMAC leaves this module; a
reference that cannot be read at plan time yields ``None`` (unverifiable).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from converge.errors import ConvergeError, VendorAuthError
from converge.vendors.base import ReferenceResolver
from converge.vendors.supabase.auth_fields import AuthSettings
from converge.vendors.supabase.client import SupabaseClient
from converge.vendors.supabase.keys import needs_reveal, select_anon_key
from converge.vendors.supabase.sql import LIST_TABLES
from converge.vendors.supabase.wire import TABLE_ROWS, PostgrestConfig, TableRow


@dataclass(frozen=True)
class ObservedProject:
    """What converge read of one Supabase project. ``tables`` is ``None`` when RLS is not
    enforced (nothing was read); ``postgrest`` holds the Data API settings (the exposed
    schemas in ``db_schema``)."""

    ref: str
    auth: Mapping[str, Any]
    tables: tuple[TableRow, ...] | None
    postgrest: PostgrestConfig


def observe_project(
    client: SupabaseClient, ref: str, *, rls_schemas: Sequence[str] | None
) -> ObservedProject:
    auth = client.get_auth_config(ref)
    postgrest = client.get_postgrest_config(ref)
    tables: tuple[TableRow, ...] | None = None
    if rls_schemas is not None:
        rows = client.run_sql(ref, LIST_TABLES, parameters=[list(rls_schemas)], read_only=True)
        tables = tuple(TABLE_ROWS.validate_python(rows))
    return ObservedProject(ref=ref, auth=auth, tables=tables, postgrest=postgrest)


def secret_fingerprint(ref: str, value: str) -> str:
    """What the vendor shows for a secret auth field: lowercase hex HMAC-SHA256, key = ref."""
    return hmac.new(ref.encode(), value.encode(), hashlib.sha256).hexdigest()


def desired_secret_fingerprints(
    settings: AuthSettings, *, ref: str, resolver: ReferenceResolver | None
) -> dict[str, str | None]:
    """Field → HMAC of the desired secret, or ``None`` when it cannot be read at plan time.
    A refused credential is not "unverifiable": it stops the plan (exit 4)."""
    found: dict[str, str | None] = {}
    for field, setting in settings.secrets.items():
        if resolver is None:
            found[field] = None
            continue
        try:
            value = resolver.resolve(setting.reference, mint=False)
        except VendorAuthError:
            raise
        except ConvergeError:
            found[field] = None
            continue
        found[field] = secret_fingerprint(ref, value)
    return found


def read_anon_key(client: SupabaseClient, ref: str) -> str:
    """The checked anon key of ``ref`` (see ``keys.select_anon_key``)."""
    keys = client.list_api_keys(ref)
    if needs_reveal(keys):
        keys = client.list_api_keys(ref, reveal=True)
    return select_anon_key(keys, ref=ref)


def value_digest(*, ref: str, key: str, value: str) -> str:
    """A short digest of a published (public) value, kept in the journal's marker as a
    record of what was sent, without storing the value."""
    material = f"{ref}\0{key}\0{value}".encode()
    return hashlib.sha256(material).hexdigest()[:32]
