"""``POST /__sandbox/workspace``: another process has the running sandbox create the
projects a workspace names, only with the sandbox's control token, never through a path a
vendor client calls, and without counting as a vendor request."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest

from converge.errors import SandboxError
from converge_sandbox.control import CONTROL_FILE, ensure_running, read_control_token
from converge_sandbox.registry import state_dir_for
from converge_sandbox.runner import VendorParts
from converge_sandbox.wanted import WantedProjects
from converge_sandbox.world import SandboxWorld
from tests.sandbox.placeholders import placeholder_parts, start_placeholder_sandbox

WANTED = {"vercel": [{"team": "globex", "project": "diary-web"}],
          "infisical": [{"organization": "acme", "project": "diary", "environments": ["prod"]}]}


def recording_parts(calls: list[tuple[str, WantedProjects]]) -> dict[str, VendorParts]:
    """Placeholder emulators whose ``ensure`` records what it was asked to create."""
    parts = placeholder_parts()

    def ensure_for(vendor: str):  # type: ignore[no-untyped-def]
        def ensure(world: SandboxWorld, wanted: WantedProjects) -> list[str]:
            calls.append((vendor, wanted))
            return [f"{vendor} {p.project}" for p in getattr(wanted, vendor)]
        return ensure

    return {vendor: VendorParts(part.create_app, part.seed, part.quota_owner, part.exports,
                                ensure_for(vendor))
            for vendor, part in parts.items()}


def test_the_control_token_is_private_to_the_owner_and_gone_after_stop(tmp_path: Path) -> None:
    state_dir = state_dir_for(tmp_path)
    with start_placeholder_sandbox(state_dir):
        mode = stat.S_IMODE((state_dir / CONTROL_FILE).stat().st_mode)
        token = read_control_token(state_dir)
    assert mode == 0o600
    assert token and len(token) >= 32
    assert not (state_dir / CONTROL_FILE).exists()


def test_the_workspace_given_at_start_is_created_before_requests_are_served(
    tmp_path: Path,
) -> None:
    calls: list[tuple[str, WantedProjects]] = []
    with start_placeholder_sandbox(state_dir_for(tmp_path), vendors=recording_parts(calls),
                                   workspace=WANTED) as sandbox:
        sandbox.wait_seeded()
        created = dict(sandbox.created)
    assert created == {"infisical": ["infisical diary"], "vercel": ["vercel diary-web"],
                       "supabase": []}
    assert [vendor for vendor, _ in calls] == ["infisical", "vercel", "supabase"]


def test_ensure_running_creates_through_each_vendors_control_endpoint(tmp_path: Path) -> None:
    calls: list[tuple[str, WantedProjects]] = []
    state_dir = state_dir_for(tmp_path)
    with start_placeholder_sandbox(state_dir, vendors=recording_parts(calls)) as sandbox:
        created = ensure_running(state_dir, WANTED)
        logged = sandbox.request_log.snapshot(None, None)
    assert created == {"infisical": ["infisical diary"], "vercel": ["vercel diary-web"],
                       "supabase": []}
    assert sorted(vendor for vendor, _ in calls) == ["infisical", "supabase", "vercel"]
    assert logged == {"entries": [], "counts": []}  # not a vendor request


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", "Basic x"])
def test_the_control_endpoint_refuses_a_request_without_the_control_token(
    tmp_path: Path, authorization: str | None
) -> None:
    calls: list[tuple[str, WantedProjects]] = []
    with start_placeholder_sandbox(state_dir_for(tmp_path),
                                   vendors=recording_parts(calls)) as sandbox:
        headers = {"Authorization": authorization} if authorization else {}
        response = httpx.post(sandbox.url("vercel") + "/__sandbox/workspace", json=WANTED,
                              headers=headers)
    assert response.status_code == 401
    assert calls == []


def test_the_control_endpoint_refuses_a_malformed_description(tmp_path: Path) -> None:
    state_dir = state_dir_for(tmp_path)
    with start_placeholder_sandbox(state_dir) as sandbox:
        token = read_control_token(state_dir)
        response = httpx.post(
            sandbox.url("supabase") + "/__sandbox/workspace",
            json={"supabase": [{"organization": "acme", "ref": "../../etc"}]},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 400
    assert response.json() == {"message": "supabase[0].ref is missing or not a valid name"}


def test_ensure_running_without_a_running_sandbox_is_one_sandbox_error(tmp_path: Path) -> None:
    with pytest.raises(SandboxError, match="no sandbox is running"):
        ensure_running(state_dir_for(tmp_path), WANTED)


def test_ensure_running_refuses_a_malformed_description_before_any_request(
    tmp_path: Path,
) -> None:
    with pytest.raises(SandboxError, match="not valid: vercel must be a list"):
        ensure_running(state_dir_for(tmp_path), {"vercel": "journal-web"})


def test_a_sandbox_in_this_process_creates_what_it_is_handed_later(tmp_path: Path) -> None:
    calls: list[tuple[str, WantedProjects]] = []
    with start_placeholder_sandbox(state_dir_for(tmp_path),
                                   vendors=recording_parts(calls)) as sandbox:
        created = sandbox.ensure(WANTED)
    assert created == {"infisical": ["infisical diary"], "vercel": ["vercel diary-web"],
                       "supabase": []}
