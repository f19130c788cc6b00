"""The local sandbox: stateful emulators of the Infisical, Vercel and Supabase APIs.

Pointing converge (``target: live``) or a vendor's own client at the sandbox exercises
the same code path as the real services, without accounts (architecture §7).

Layout, by role:

- ``infisical/``, ``vercel/``, ``supabase/``: one emulator per vendor, each exposing
  ``app.create_app(world)`` (a Starlette app) and ``seed.seed(world)`` (idempotent);
- ``world`` and ``store``: the state the emulators share (documents in SQLite, the
  credentials they accept, the database provider);
- ``postgres``: the real PostgreSQL server the Supabase emulator runs SQL on;
- ``middleware`` with ``faults``, ``ratelimits``, ``vendorprofiles`` and ``requestlog``:
  what wraps every emulator: seeded fault injection, each vendor's rate limits and
  headers, and a request log that never holds a header, query or body;
- ``server`` and ``gate``: the three servers on one event loop, and requests waiting for
  their vendor's seed;
- ``runner`` and ``registry``: ``start_sandbox(state_dir)`` for the CLI and tests, and the
  on-disk layout (``.converge/sandbox/``) through which other processes find a running
  sandbox (``running.json``);
- ``serving``: a single app in a thread (handy in vendor unit tests);
- ``jsontype``: how the vendors' validators name a JSON value's type in error messages.

The emulators never import each other; only ``cli/sandbox.py`` prints.
"""
