"""The key behind the keyed fingerprints of sensitive values (DESIGN §6).

A fingerprint lets converge tell that a sensitive value it sent has changed without ever
reading it back, and without storing anything that could be brute-forced into the value:
HMAC-SHA256 under a key that never leaves the team. ``CONVERGE_FINGERPRINT_KEY`` (hex or
base64, at least 32 bytes) shares one key between laptops and CI; without it, a random key
is created once in ``.converge/fingerprint.key`` (mode 0600, git-ignored).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Mapping
from pathlib import Path

from converge.errors import ConfigError
from converge.util.files import write_atomic

ENV_VARIABLE = "CONVERGE_FINGERPRINT_KEY"
KEY_FILE = "fingerprint.key"


def _decode(text: str) -> bytes:
    text = text.strip()
    try:
        return bytes.fromhex(text)
    except ValueError:
        pass
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{ENV_VARIABLE} is neither hex nor base64") from None


def fingerprint_key(state_dir: Path, env: Mapping[str, str]) -> bytes:
    """The team key from the environment, else this workspace's local key."""
    given = env.get(ENV_VARIABLE)
    if given:
        key = _decode(given)
        if len(key) < 32:
            raise ConfigError(f"{ENV_VARIABLE} must hold at least 32 bytes")
        return key
    path = state_dir / KEY_FILE
    if path.is_file():
        return _read_key(path)
    state_dir.mkdir(parents=True, exist_ok=True)
    # Created whole under a private name, then linked into place: a concurrent reader
    # sees either no key file or a whole key; of two creators, the first one wins.
    write_atomic(path, secrets.token_bytes(32).hex() + "\n", mode=0o600, replace=False)
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    key = _decode(path.read_text(encoding="ascii"))
    if len(key) < 32:
        raise ConfigError(
            f"{path.name} holds a key shorter than 32 bytes",
            hint=f"delete .converge/{path.name} (sensitive values are re-sent once) "
            f"or set {ENV_VARIABLE}",
        )
    return key
