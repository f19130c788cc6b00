"""Recovering the reference behind a value converge wrote, without reading the value (pure).

A Vercel variable converge manages carries ``ref=<digest>`` in its ownership marker: a
short sha256 of the reference it was resolved from (``vercel.ownership.ref_digest``). The
reference itself is not stored anywhere at the vendor, but the set of references it can
be is small and known: ``identity/<name>/client-id|client-secret`` for the identities
being imported, and ``secret/<env>/<path>/<NAME>`` for the Infisical project's secrets
(listed by name, never by value). Hashing each candidate the same way and matching the
digest gives back the exact reference, or nothing (then the import writes a placeholder).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from converge.config.crosscheck import PLACEHOLDER_PREFIX, parse_reference
from converge.vendors.infisical.wire import SecretName
from converge.vendors.vercel.ownership import ref_digest

__all__ = ["PLACEHOLDER_PREFIX", "DigestIndex", "candidate_references", "placeholder",
           "secret_reference"]


def placeholder(what: str) -> str:
    """The stand-in for a reference the import could not recover: ``validate`` refuses it
    (it names no identity or secret), so it cannot reach a vendor by accident."""
    return f"{PLACEHOLDER_PREFIX}{what}"


def secret_reference(environment: str, path: str, name: str) -> str | None:
    """``secret/prod/auth/GITHUB_OAUTH_SECRET`` for secret ``GITHUB_OAUTH_SECRET`` at
    ``/auth`` of converge environment ``prod``; None when the grammar cannot say it."""
    folders = [part for part in path.split("/") if part]
    ref = "/".join(["secret", environment, *folders, name])
    return ref if parse_reference(ref) is not None else None


def candidate_references(
    *, identities: Iterable[str], secrets: Mapping[str, Sequence[SecretName]]
) -> list[str]:
    """Every reference a recovered value may come from: the identities' client id and
    secret, and each secret of each converge environment (``secrets``: environment →
    the names listed in its Infisical environment)."""
    found = [f"identity/{name}/{what}" for name in identities
             for what in ("client-id", "client-secret")]
    for env, names in secrets.items():
        for secret in names:
            ref = secret_reference(env, secret.secretPath, secret.secretKey)
            if ref is not None:
                found.append(ref)
    return sorted(set(found))


class DigestIndex:
    """Candidate references by the digest converge's Vercel marker carries."""

    def __init__(self, candidates: Iterable[str]):
        self._by_digest: dict[str, list[str]] = {}
        for ref in sorted(set(candidates)):
            self._by_digest.setdefault(ref_digest(ref), []).append(ref)

    def recover(self, digest: str) -> str | None:
        """The one candidate whose digest is ``digest``; None for none or several."""
        found = self._by_digest.get(digest, [])
        return found[0] if len(found) == 1 else None
