"""Ownership markers and keyed fingerprints, kept in a Vercel variable's ``comment``.

Vercel gives an env var no labels or metadata, only a free ``comment`` (≤ 500 characters),
so converge writes its marker there::

    <the user's comment, if any> converge:managed owner=vercel project=journal
        ref=3f9c0a1b2c4d rot=0 fp=9a1b… kid=3f2a1b0c          (on one line)

- ``owner``: which reconciler wrote it (``vercel``; ``supabase`` for values the Supabase
  reconciler publishes through ``VercelPublisher``). A reconciler only ever updates or
  deletes variables whose marker names it and its converge project.
- ``ref``: a digest of the reference (``identity/…/client-secret``), so a changed reference
  is seen without storing it in Vercel; ``-`` for a literal.
- ``rot``: the ``rotate: N`` counter the value was last sent for.
- ``cs``: for a minted client secret, the Infisical id of the secret the value is (an id,
  not the secret), so converge knows which of the identity's secrets are in use and can
  revoke the ones a killed run minted but never delivered.
- ``fp``: HMAC-SHA256 keyed with the workspace's fingerprint key over (project, key,
  targets, value), truncated. Drift on write-only values is detected by recomputing it,
  never by reading the value back, and without the key the fingerprint reveals nothing.
- ``kid``: the id of the fingerprint key that wrote ``fp`` (``engine.fingerprint.key_id``).
  A run under another key cannot compare ``fp``, and says so (``key_differs``) instead of
  taking the value for changed. A marker without ``kid`` (written before key ids) is
  read as written with the run's own key, the only key there was then: it matches, or
  its value is re-sent once (never re-minted: a client secret is never compared by
  ``fp``), after which it carries a ``kid``.

Everything converge needs to recognise its variables and compare their values is here,
at the vendor: a fresh clone with a fresh ``.converge/`` and the team's key plans
exactly what the laptop that applied them plans.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

MARKER = "converge:managed"
FINGERPRINT_LENGTH = 24
REF_DIGEST_LENGTH = 12
NO_REF = "-"
_MARKER_PATTERN = re.compile(
    r"(?:^|\s)converge:managed((?:\s+[a-z]+=\S*)*)\s*$"
)


@dataclass(frozen=True)
class Ownership:
    """The parsed marker of a variable converge wrote."""

    owner: str
    project: str
    ref: str = NO_REF
    rot: int = 0
    fp: str = ""
    cs: str = ""
    kid: str = ""

    def render(self) -> str:
        text = (
            f"{MARKER} owner={self.owner} project={self.project} ref={self.ref} "
            f"rot={self.rot} fp={self.fp}"
        )
        if self.kid:
            text += f" kid={self.kid}"
        return f"{text} cs={self.cs}" if self.cs else text

    def owned_by(self, owner: str, project: str) -> bool:
        return self.owner == owner and self.project == project

    def key_differs(self, run_key_id: str) -> bool:
        """True when ``fp`` was written under another fingerprint key than the run's (so
        it cannot be compared); False for a marker without a key id (see module doc)."""
        return bool(self.fp) and bool(self.kid) and self.kid != run_key_id


def key_differs_reason(written: str, run_key_id: str) -> str:
    """The sentence a plan shows for a value fingerprinted under another key."""
    return (
        f"unverifiable (fingerprint key differs): written with fingerprint key id "
        f"{written}, this run has {run_key_id}; set CONVERGE_FINGERPRINT_KEY"
    )


def compose_comment(user_comment: str | None, ownership: Ownership) -> str:
    """The comment to send: the user's own text first, the marker last."""
    text = (user_comment or "").strip()
    return f"{text} {ownership.render()}" if text else ownership.render()


def parse_comment(comment: str | None) -> tuple[str, Ownership | None]:
    """Split a comment into the user's text and converge's marker (None if there is none
    or it is malformed: a malformed marker is not ours, so it is never deleted)."""
    text = comment or ""
    match = _MARKER_PATTERN.search(text)
    if match is None:
        return text.strip(), None
    fields = dict(pair.split("=", 1) for pair in match.group(1).split())
    user = text[: match.start()].strip()
    try:
        ownership = Ownership(
            owner=fields["owner"],
            project=fields["project"],
            ref=fields.get("ref", NO_REF),
            rot=int(fields.get("rot", "0")),
            fp=fields.get("fp", ""),
            cs=fields.get("cs", ""),
            kid=fields.get("kid", ""),
        )
    except (KeyError, ValueError):
        return user, None
    if not ownership.owner or not ownership.project:
        return user, None
    return user, ownership


def ref_digest(ref: str | None) -> str:
    """A short digest of a reference; ``-`` for a literal value."""
    if not ref:
        return NO_REF
    return hashlib.sha256(ref.encode("utf-8")).hexdigest()[:REF_DIGEST_LENGTH]


def fingerprint(
    secret_key: bytes, *, project: str, key: str, targets: Iterable[str], value: str
) -> str:
    """Keyed fingerprint of one value: equal inputs give equal fingerprints, and nothing
    about the value can be learnt from it without ``secret_key``."""
    message = json.dumps([project, key, sorted(targets), value], separators=(",", ":"))
    digest = hmac.new(secret_key, message.encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[:FINGERPRINT_LENGTH]
