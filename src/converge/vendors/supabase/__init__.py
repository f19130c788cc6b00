"""Supabase: auth settings, row-level security and published variables (architecture §6).

Change kinds this package produces (``Change.system == "supabase"``), in apply order:

``auth`` (stage 1)
    The auth config of one project ref. ``name`` is the ref, ``label`` ``auth <ref>``,
    one ``FieldDiff`` per Management API field that differs (``site_url``,
    ``uri_allow_list``, ``external_github_secret`` shown as ``(sensitive)`` …).
    Applied as one partial ``PATCH /v1/projects/{ref}/config/auth``.
``postgrest`` (stage 2)
    The schemas PostgREST exposes on one project ref (``api.schemas``). ``name`` is the
    ref, ``label`` ``postgrest <ref>``, one ``FieldDiff`` on ``db_schema`` (live list →
    list to send) when the live set differs from the declared one (order is not compared,
    see ``diff.py``). Applied as ``PATCH /v1/projects/{ref}/postgrest`` with ``db_schema``
    only. Before ``rls``, so a newly exposed schema is secured in the same run.
``rls`` (stage 3)
    One table of a declared schema with row-level security off. ``name`` is
    ``<ref>/<schema>.<table>``, ``label`` ``public.profiles``, ``detail`` ``enable RLS on
    public.profiles (<ref>, prod)``. Applied with ``ALTER TABLE … ENABLE ROW LEVEL
    SECURITY`` through the query endpoint (or ``SUPABASE_DB_URL``).
``publish`` (stage 4)
    One variable published to Vercel through the engine's ``VariablePublisher``: the
    project URL or its anon key (checked to be a JWT with role ``anon``). ``name`` and
    ``label`` are the key (``NEXT_PUBLIC_SUPABASE_URL``).

Nothing is ever deleted: auth fields are settings (a field dropped from the workspace is
left as it is), RLS is only ever enabled (``rls.enforce: false`` leaves RLS alone), and
published variables are Vercel's to remove. The one removal is of exposure: a schema
PostgREST exposes but the workspace does not declare is taken off ``db_schema``, as the
policy ``supabase.rls`` only vouches for the declared ones.

Modules: ``client`` (typed endpoints over ``VendorHttp``, optional direct Postgres),
``wire`` (payload models), ``auth_fields`` (converge names → API fields, normalisation),
``keys`` (anon key selection and check), ``sql`` (statements, identifier quoting),
``observe`` (reads), ``diff`` (pure), ``apply`` (one change), ``reconciler``
(``SupabaseReconciler``).
"""

from converge.vendors.base import Note
from converge.vendors.supabase.client import SupabaseClient
from converge.vendors.supabase.diff import AUTH, POSTGREST, PUBLISH, RLS, SYSTEM
from converge.vendors.supabase.reconciler import ProjectSummary, SupabaseReconciler

__all__ = [
    "AUTH",
    "POSTGREST",
    "PUBLISH",
    "RLS",
    "SYSTEM",
    "Note",
    "ProjectSummary",
    "SupabaseClient",
    "SupabaseReconciler",
]
