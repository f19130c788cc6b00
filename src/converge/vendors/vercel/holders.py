"""Which minted credentials converge's Vercel variables hold (read, no write).

A variable that holds a minted Infisical client secret names it in its ownership marker
(``cs=<id>``, ``ownership.py``). The engine reads the set to find minted secrets that no
variable holds any more (``engine.credentials``): a replaced one, one whose holder was
deleted, one a killed run minted but never delivered.
"""

from __future__ import annotations

from collections.abc import Collection

from converge.vendors.vercel.client import ProjectScope, VercelClient
from converge.vendors.vercel.ownership import parse_comment, ref_digest


def held_client_secrets(
    client: VercelClient, scope: ProjectScope, *, project: str, refs: Collection[str]
) -> frozenset[str] | None:
    """The client secret ids held by the variables converge wrote for ``project`` in
    ``scope`` (one list request, answered from memory when nothing was written since).
    None when a variable of one of the client-secret ``refs`` does not say which secret
    it holds (written by a converge that did not record it): then nobody can tell which
    secrets are unheld, and none may be revoked for being so."""
    digests = {ref_digest(ref) for ref in refs}
    held: set[str] = set()
    for env in client.list_env(scope):
        _, ownership = parse_comment(env.comment)
        if ownership is None or ownership.project != project:
            continue
        if ownership.cs:
            held.add(ownership.cs)
        elif ownership.ref in digests:
            return None
    return frozenset(held)
