"""The fingerprint key: where it comes from, its public id, and CI's rule that a key is
configured, never invented (issue 9, item 1)."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import pytest

from converge.config.workspace import open_workspace
from converge.engine.context import RunContext
from converge.engine.fingerprint import (
    ENV_VARIABLE,
    KEY_FILE,
    MISSING_IN_CI,
    fingerprint_key,
    in_ci,
    key_id,
)
from converge.errors import ConfigError, CredentialsMissing

TEAM_KEY = bytes(range(32))


def test_the_key_id_is_short_stable_and_tells_keys_apart_without_revealing_them() -> None:
    assert key_id(TEAM_KEY) == key_id(bytes(range(32)))
    assert len(key_id(TEAM_KEY)) == 8 and int(key_id(TEAM_KEY), 16) >= 0
    assert key_id(TEAM_KEY) != key_id(secrets.token_bytes(32))
    assert key_id(TEAM_KEY) not in TEAM_KEY.hex()


def test_the_team_key_is_read_as_hex_or_base64(tmp_path: Path) -> None:
    for text in (TEAM_KEY.hex(), base64.b64encode(TEAM_KEY).decode()):
        assert fingerprint_key(tmp_path, {ENV_VARIABLE: text, "CI": "true"}) == TEAM_KEY
    assert not (tmp_path / KEY_FILE).exists()


def test_a_short_team_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="at least 32 bytes"):
        fingerprint_key(tmp_path, {ENV_VARIABLE: "ab" * 16})


def test_outside_ci_a_local_key_is_created_once_and_reused(tmp_path: Path) -> None:
    first = fingerprint_key(tmp_path, {})
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert fingerprint_key(tmp_path, {"CI": "false"}) == first


@pytest.mark.parametrize("value", ["true", "1", "TRUE", "yes"])
def test_in_ci_without_a_key_the_run_stops_with_exit_4_and_invents_nothing(
    tmp_path: Path, value: str
) -> None:
    assert in_ci({"CI": value})
    with pytest.raises(CredentialsMissing) as caught:
        fingerprint_key(tmp_path, {"CI": value})
    assert caught.value.exit_code == 4
    assert caught.value.message == MISSING_IN_CI
    assert caught.value.message.startswith(
        "CONVERGE_FINGERPRINT_KEY is not set: in CI converge cannot verify or fingerprint "
        "sensitive values without the team's key; set it from a repository secret")
    assert not (tmp_path / KEY_FILE).exists()


def test_in_ci_a_key_file_already_there_is_used(tmp_path: Path) -> None:
    made = fingerprint_key(tmp_path, {})
    assert fingerprint_key(tmp_path, {"CI": "true"}) == made


def test_the_sandbox_target_may_make_a_local_key_in_ci(workspace: Path) -> None:
    ws = open_workspace(workspace)
    live = RunContext(ws, env={"CI": "true"})
    sandbox = RunContext(ws, env={"CI": "true"}, sandbox=True)

    with pytest.raises(CredentialsMissing):
        _ = live.fingerprint_key
    assert len(sandbox.fingerprint_key) == 32
    assert sandbox.fingerprint_key_id == key_id(sandbox.fingerprint_key)
