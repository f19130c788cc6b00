"""The key behind the keyed fingerprints of sensitive values (architecture §6), and its id.

A fingerprint lets converge tell that a sensitive value it sent has changed without ever
reading it back, and without storing anything that could be brute-forced into the value:
HMAC-SHA256 under a key that never leaves the team. ``CONVERGE_FINGERPRINT_KEY`` (hex or
base64, at least 32 bytes) shares one key between laptops and CI; without it, a random key
is created once in ``.converge/fingerprint.key`` (mode 0600, git-ignored).

Every fingerprint written to a vendor carries the **key id** of the key that wrote it
(``util.keyid.key_id``: 8 hex digits of HMAC(key, "converge-key-id"), which tells keys
apart and reveals nothing about them). A fingerprint written under another key cannot be
compared, so it is reported as unverifiable, naming both ids, never as a changed value.

In CI (``CI`` set to true, as GitHub Actions and most runners do) a fresh checkout has no
key file, and a key invented there would make every sensitive value unverifiable and
every run's fingerprints useless to the next: without ``CONVERGE_FINGERPRINT_KEY`` (and
with no key file already present) the command stops with exit 4 instead. The sandbox
target is exempt: its vendors live in the same ``.converge/`` as a local key would.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Mapping
from pathlib import Path

from converge.errors import ConfigError, CredentialsMissing
from converge.util.files import write_atomic
from converge.util.keyid import key_id

__all__ = ["ENV_VARIABLE", "KEY_FILE", "MISSING_IN_CI", "fingerprint_key", "in_ci", "key_id"]

ENV_VARIABLE = "CONVERGE_FINGERPRINT_KEY"
KEY_FILE = "fingerprint.key"
MISSING_IN_CI = (
    f"{ENV_VARIABLE} is not set: in CI converge cannot verify or fingerprint sensitive "
    "values without the team's key; set it from a repository secret"
)


def in_ci(env: Mapping[str, str]) -> bool:
    """True when ``CI`` says this runs on a CI runner (``true``, ``1``, ``yes``)."""
    return env.get("CI", "").strip().lower() in ("true", "1", "yes")


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


def fingerprint_key(
    state_dir: Path, env: Mapping[str, str], *, local_key_allowed_in_ci: bool = False
) -> bytes:
    """The team key from the environment, else this workspace's local key (created on
    first use). Under CI with neither, ``CredentialsMissing`` (exit 4) unless
    ``local_key_allowed_in_ci`` (the sandbox target)."""
    given = env.get(ENV_VARIABLE)
    if given:
        key = _decode(given)
        if len(key) < 32:
            raise ConfigError(f"{ENV_VARIABLE} must hold at least 32 bytes")
        return key
    path = state_dir / KEY_FILE
    if path.is_file():
        return _read_key(path)
    if in_ci(env) and not local_key_allowed_in_ci:
        raise CredentialsMissing(
            MISSING_IN_CI,
            hint=f"generate one once with: openssl rand -hex 32; store it as the "
            f"repository secret {ENV_VARIABLE} and pass it to every converge step",
        )
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
            hint=f"set {ENV_VARIABLE} to the team's key, or delete .converge/{path.name} (the "
            "values it fingerprinted are then unverifiable until re-sent)",
        )
    return key
