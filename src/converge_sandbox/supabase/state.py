"""The Supabase emulator's documents in the shared ``SandboxStore`` (vendor ``supabase``).

Why a module of its own: the HTTP handlers, the seed and tests all read and write the same
documents, so their kinds, keys and default shapes are defined once here.

    kind             key             document
    organization     <slug>          {id, slug, name}
    project          <ref>           {ref, name, organization_id, organization_slug, region,
                                      created_at, status, jwt_secret, database{...}}
    auth_config      <ref>           full auth config, secrets in plaintext
    postgrest        <ref>           {db_schema, max_rows, db_extra_search_path, db_pool}
    api_key          <ref>/<id>      ApiKeyResponse fields (api_key in plaintext)
    legacy_api_keys  <ref>           {enabled}
    postgres_config  <ref>           flat map of Postgres setting overrides (``pgconfig``)
    network_restrictions <ref>       {config{dbAllowedCidrs, dbAllowedCidrsV6}, updated_at?,
                                      applied_at?}
    ssl_enforcement  <ref>           {database}
    pooler_config    <ref>           {default_pool_size, pool_mode}
    storage_config   <ref>           storage config in the v2 (snake_case) shape
    secret           <ref>/<name>    {name, value, updated_at}
"""

from __future__ import annotations

from typing import Any

from converge_sandbox.store import Document
from converge_sandbox.supabase.errors import project_not_found
from converge_sandbox.world import SandboxWorld

VENDOR = "supabase"


def get_project(world: SandboxWorld, ref: str) -> Document:
    """The project document, or the vendor's 404."""
    project = world.store.get(VENDOR, "project", ref)
    if project is None:
        raise project_not_found()
    return project


def database_info(world: SandboxWorld, ref: str) -> Document:
    """A project's ``database`` block. ``version`` and ``postgres_engine`` are those of the
    PostgreSQL server actually running (``16.14`` and ``16``), so what the project claims
    and what ``select version()`` answers agree; empty without a database."""
    version = world.database.server_version() if world.database is not None else ""
    return {
        "host": f"db.{ref}.supabase.co",
        "version": version,
        "postgres_engine": version.split(".")[0],
        "release_channel": "ga",
    }


def get_doc(world: SandboxWorld, kind: str, ref: str, default: Document) -> Document:
    """A per-project document, or ``default`` when none was stored yet."""
    doc = world.store.get(VENDOR, kind, ref)
    return doc if doc is not None else default


def put_doc(world: SandboxWorld, kind: str, key: str, doc: Document) -> None:
    world.store.put(VENDOR, kind, key, doc)


def default_postgrest() -> Document:
    """PostgREST settings of a new project (the CLI template's ``[api]`` defaults)."""
    return {
        "db_schema": "public,graphql_public",
        "max_rows": 1000,
        "db_extra_search_path": "public,extensions",
        "db_pool": None,
    }


def default_storage() -> Document:
    """Storage settings of a new project, in the v2 config (snake_case) shape."""
    return {
        "file_size_limit": 52428800,
        "features": {
            "image_transformation": {"enabled": True},
            "s3_protocol": {"enabled": True},
            "purge_cache": {"enabled": False},
            "iceberg_catalog": {
                "enabled": False, "max_namespaces": 0, "max_tables": 0, "max_catalogs": 0,
            },
            "vector_buckets": {"enabled": False, "max_buckets": 0, "max_indexes": 0},
        },
        "capabilities": {"list_v2": True, "iceberg_catalog": False},
        "upstream_target": "main",
        "migration_version": "sandbox",
        "database_pool_mode": "recycled",
    }


def deep_merge(base: Document, patch: dict[str, Any]) -> Document:
    """``base`` with ``patch`` merged in, nested objects merged key by key."""
    merged = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
