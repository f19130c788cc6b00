"""Raising `rotate:` on a client-secret reference mints a new secret and sends it to Vercel;
the secret it replaces is revoked once the new one is published (a pending revocation with
no grace period, performed at the end of the apply run; issue 8, item 4), so exactly one
converge-minted secret is live after each rotation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import E2E, start_e2e

pytestmark = pytest.mark.integration

VERCEL_FILE = "data/platforms/vercel/journal.yaml"
SECRET_REF = "    ref: identity/token-service@journal-prod/client-secret\n"


@pytest.fixture
def rotating(tmp_path: Path) -> Iterator[E2E]:
    harness = start_e2e(tmp_path / "ws", projects=("journal",))
    try:
        yield harness
    finally:
        harness.sandbox.stop()


def _valid_secret_ids(e2e: E2E) -> set[str]:
    identity = next(
        d for d in e2e.infisical_docs("identity") if d["name"] == "token-service@journal-prod"
    )
    return {
        s["id"]
        for s in e2e.infisical_docs("client_secret", f"{identity['id']}/")
        if not s["isClientSecretRevoked"]
    }


def _rotate(e2e: E2E, n: int) -> None:
    path = e2e.root / VERCEL_FILE
    text = path.read_text()
    marker = SECRET_REF + "    rotate: "
    if marker in text:
        start = text.index(marker) + len(marker)
        end = text.index("\n", start)
        text = text[:start] + str(n) + text[end:]
    else:
        text = text.replace(SECRET_REF, f"{SECRET_REF}    rotate: {n}\n")
    path.write_text(text)
    for step in ("decide", "render", "apply"):
        result = e2e.cli(step, "journal")
        assert result.exit_code == 0, result.output


def test_rotation_revokes_the_replaced_secret_once_the_new_one_is_published(
    rotating: E2E,
) -> None:
    assert rotating.cli("apply", "journal").exit_code == 0
    first = _valid_secret_ids(rotating)
    assert len(first) == 1

    _rotate(rotating, 1)
    second = _valid_secret_ids(rotating)
    assert len(second) == 1 and not first & second

    _rotate(rotating, 2)
    third = _valid_secret_ids(rotating)
    assert len(third) == 1 and not (first | second) & third
    assert rotating.cli("plan", "journal").exit_code == 0
    assert "revocation pending" not in rotating.cli("status", "journal").stdout
