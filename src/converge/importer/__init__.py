"""``converge import``: write a project's workspace files from what the vendors hold.

The reverse of render and apply, for a team that starts from live systems: read (never
write) one Infisical project, one Vercel project and Supabase projects, and express them
in the workspace's files and naming rules, so that ``decide``, ``render`` and ``plan``
right after an import show no change for what converge already manages, and the next
apply adopts (marks as managed, values unchanged) what it does not manage yet
(project.yaml's ``adopt:``). What the workspace cannot say is reported, never guessed:
a value that cannot be read stays out of the files, a reference that cannot be recovered
becomes a ``placeholder/…`` that ``validate`` refuses.

Modules: ``request`` (the options, parsed), ``run`` (the order of reads and writes),
one module per vendor (``infisical``, ``vercel``, ``supabase``: a read step doing I/O
through the vendor clients, a pure translate step), ``names`` and ``references`` (naming
rules and reference recovery, pure), ``files`` (the YAML files, checked, then written),
``findings`` (what the report lists). The CLI (``cli/importer.py``) only parses and
prints.
"""

from __future__ import annotations

from converge.importer.findings import Finding
from converge.importer.request import (
    EnvironmentSpec,
    ImportRequest,
    SupabaseRefSpec,
    build_request,
    parse_environment,
    parse_supabase_ref,
)
from converge.importer.run import ImportResult, import_project

__all__ = [
    "EnvironmentSpec",
    "Finding",
    "ImportRequest",
    "ImportResult",
    "SupabaseRefSpec",
    "build_request",
    "import_project",
    "parse_environment",
    "parse_supabase_ref",
]
