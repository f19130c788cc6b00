"""Emulator of the Supabase Management API (the parts converge and the vendor's clients use).

``app.create_app(world)`` serves it and ``seed.seed(world)`` creates the starting world;
SQL runs on a real PostgreSQL server (``converge_sandbox.postgres``), one database per
project ref. Modules by role: ``state`` (documents in the world store), ``errors`` and
``http`` (the vendor's error bodies, request helpers), ``projects`` (organizations,
projects and their creation, health, add-ons), ``auth_fields``/``auth_config`` and
``config`` (auth, PostgREST, storage, the v2 config the CLI reads), ``pgconfig`` (Postgres
settings), ``network`` (network restrictions, SSL enforcement, pooler),
``api_keys``/``keys`` (API keys, function secrets), ``query``/``database`` (the SQL
endpoints as Supabase's roles, RLS advisors).
"""
