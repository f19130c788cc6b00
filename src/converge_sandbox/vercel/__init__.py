"""Stateful emulator of the part of the Vercel REST API that converge and Vercel's own
clients (the ``vercel`` CLI, ``@vercel/sdk``) use for project environment variables.

Layout, one role per module:

- ``models``: the documents the emulator keeps in ``world.store`` (vendor ``"vercel"``).
- ``state``: typed reads and writes of those documents.
- ``rules``: Vercel's validation and uniqueness rules, pure functions.
- ``wire``: how a stored document is rendered for each endpoint and API version.
- ``errors``: Vercel's error body and the codes the emulator answers with.
- ``scope``: bearer-token check and ``teamId``/``slug`` team scoping.
- ``routes_account`` / ``routes_env``: the HTTP handlers; ``app.create_app`` wires them.
- ``seed``: the fixed starting world (team ``acme`` and its two projects).

Facts come from ``/work/shared/vendor-apis`` (vercel-api.md, vendor-cli-wire.md §1, the
OpenAPI subset and the CLI captures); where the vendor's behaviour is unconfirmed the
choice made here is stated in the docstring of the code that makes it.
"""
