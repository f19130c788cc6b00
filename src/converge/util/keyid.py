"""The public id of a fingerprint key: which key wrote a keyed fingerprint, never the key.

``key_id(key)`` is the first 8 hex digits of HMAC-SHA256(key, "converge-key-id"): equal
keys give equal ids, and the id cannot be turned back into the key. Vendor markers record
it beside each fingerprint (``kid=``), so a run under another key knows it cannot compare
that fingerprint instead of taking the value for changed (``engine.fingerprint``).
"""

from __future__ import annotations

import hashlib
import hmac

KEY_ID_LENGTH = 8
_KEY_ID_MESSAGE = b"converge-key-id"


def key_id(key: bytes) -> str:
    """The short public id of ``key`` (see the module doc)."""
    return hmac.new(key, _KEY_ID_MESSAGE, hashlib.sha256).hexdigest()[:KEY_ID_LENGTH]
