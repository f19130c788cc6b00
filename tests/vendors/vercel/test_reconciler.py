"""The Vercel reconciler against the emulator in-process: end state, idempotence, drift,
ownership, adoption, rotation, lost responses and the outbound secret check."""

from __future__ import annotations

import httpx
import pytest

from converge.changes import Action
from converge.desired import DesiredVercel
from converge.errors import PolicyDenied, VendorAuthError, VendorConflictError
from converge.vendors.vercel.ownership import parse_comment
from converge_sandbox.vercel import seed as vercel_seed
from converge_sandbox.vercel.app import create_app
from tests.support.asgi import InProcessTransport
from tests.vendors.vercel.conftest import Harness, by_name, with_variable, without_variable

JOURNAL_WEB = "journal-web"
ANALYTICS = "analytics-dashboard"
SECRET_REF = "identity/token-service@journal-prod/client-secret"
ID_REF = "identity/token-service@journal-prod/client-id"


def test_apply_from_empty_writes_every_variable_in_one_batched_request(
    harness: Harness, journal: DesiredVercel
) -> None:
    changes = harness.apply(journal)

    assert {c.action for c in changes} == {Action.CREATE}
    assert harness.counter.total("vercel", writes_only=True) == 1
    api_url = harness.env(JOURNAL_WEB, "NEXT_PUBLIC_API_URL")
    assert (api_url.type, api_url.target, api_url.value) == (
        "plain", ["production"], "https://api.journal.acme.example")
    assert harness.env(JOURNAL_WEB, "NEXT_PUBLIC_APP_NAME").value == "Journal"
    client_id = harness.env(JOURNAL_WEB, "INFISICAL_CLIENT_ID")
    assert client_id.type == "sensitive"
    assert client_id.value == harness.resolver.values[ID_REF]
    client_secret = harness.env(JOURNAL_WEB, "INFISICAL_CLIENT_SECRET")
    assert client_secret.type == "sensitive"
    assert client_secret.value == harness.resolver.values[SECRET_REF]
    assert harness.resolver.mints == [SECRET_REF]
    for record in harness.envs(JOURNAL_WEB):
        _, ownership = parse_comment(record.comment)
        assert ownership is not None and ownership.owned_by("vercel", "journal")


def test_changes_carry_the_labels_the_brief_prints_and_no_secret(
    harness: Harness, journal: DesiredVercel
) -> None:
    changes = harness.apply(journal)

    labels = {c.label for c in changes}
    assert labels == {"NEXT_PUBLIC_API_URL (production)", "NEXT_PUBLIC_APP_NAME (production)",
                      "INFISICAL_CLIENT_ID", "INFISICAL_CLIENT_SECRET"}
    text = repr([c.to_json() for c in changes]) + repr([dict(c.desired) for c in changes])
    for secret in (harness.resolver.values[SECRET_REF], harness.resolver.values[ID_REF]):
        assert secret not in text
    assert all(c.kind == "env" for c in changes)


def test_second_plan_after_apply_is_empty_with_exactly_one_list_request(
    harness: Harness, journal: DesiredVercel
) -> None:
    harness.apply(journal)

    rec = harness.reconciler(journal)
    rec.observe(markers=harness.markers)

    assert rec.diff() == ()
    assert rec.notes == ()
    assert dict(harness.counter.requests) == {("vercel", "GET", 200): 1}


def test_analytics_records_per_target_set_send_encrypted_where_development_is_targeted(
    harness: Harness, analytics: DesiredVercel
) -> None:
    harness.project = "analytics"
    harness.apply(analytics)

    preview_id = harness.env(ANALYTICS, "INFISICAL_CLIENT_ID", ["development", "preview"])
    prod_id = harness.env(ANALYTICS, "INFISICAL_CLIENT_ID", ["production"])
    assert (preview_id.type, prod_id.type) == ("encrypted", "sensitive")
    assert preview_id.value == "value-of-dashboard@analytics-preview"
    assert harness.plan(analytics) == ()


def test_public_value_edited_out_of_band_is_planned_as_update_and_restored(
    harness: Harness, journal: DesiredVercel
) -> None:
    harness.apply(journal)
    record = harness.env(JOURNAL_WEB, "NEXT_PUBLIC_API_URL")
    _patch(harness, record.id, {"value": "https://evil.example"})

    changes = harness.plan(journal)

    assert [(c.name, c.action) for c in changes] == [
        ("NEXT_PUBLIC_API_URL@production", Action.UPDATE)]
    assert changes[0].diffs[0].before == "https://evil.example"
    harness.apply(journal)
    assert harness.env(JOURNAL_WEB, "NEXT_PUBLIC_API_URL").value == (
        "https://api.journal.acme.example")
    assert harness.env(JOURNAL_WEB, "NEXT_PUBLIC_API_URL").id == record.id
    assert harness.plan(journal) == ()


def test_sensitive_value_replaced_out_of_band_is_detected_by_marker_and_re_sent(
    harness: Harness, journal: DesiredVercel
) -> None:
    harness.apply(journal)
    record = harness.env(JOURNAL_WEB, "INFISICAL_CLIENT_ID")
    _patch(harness, record.id, {"value": "tampered"})

    changes = harness.plan(journal)

    assert [(c.name, c.action) for c in changes] == [
        ("INFISICAL_CLIENT_ID@production", Action.UPDATE)]
    assert changes[0].diffs[0].before == "(sensitive)"
    harness.apply(journal)
    assert harness.env(JOURNAL_WEB, "INFISICAL_CLIENT_ID").value == (
        harness.resolver.values[ID_REF])


def test_source_value_changed_in_infisical_is_detected_by_fingerprint(
    harness: Harness, journal: DesiredVercel
) -> None:
    harness.apply(journal)
    harness.resolver.values[ID_REF] = "a-new-client-id"

    changes = harness.plan(journal)

    assert [c.name for c in changes] == ["INFISICAL_CLIENT_ID@production"]
    harness.apply(journal)
    assert harness.env(JOURNAL_WEB, "INFISICAL_CLIENT_ID").value == "a-new-client-id"


def test_removed_variable_is_deleted_and_the_unmanaged_one_is_left_alone(
    harness: Harness, analytics: DesiredVercel
) -> None:
    harness.project = "analytics"
    harness.apply(analytics)
    unmanaged_before = harness.env(ANALYTICS, vercel_seed.UNMANAGED_ENV_KEY)

    smaller = without_variable(analytics, "NEXT_PUBLIC_SAMPLE_RATE")
    changes = harness.plan(smaller)

    assert [(c.name, c.action) for c in changes] == [
        ("NEXT_PUBLIC_SAMPLE_RATE@production", Action.DELETE)]
    assert all(vercel_seed.UNMANAGED_ENV_KEY not in c.name for c in changes)
    harness.apply(smaller)
    assert not [e for e in harness.envs(ANALYTICS) if e.key == "NEXT_PUBLIC_SAMPLE_RATE"]
    unmanaged_after = harness.env(ANALYTICS, vercel_seed.UNMANAGED_ENV_KEY)
    assert unmanaged_after == unmanaged_before
    assert harness.plan(smaller) == ()


def test_unmanaged_variable_in_the_way_is_a_conflict_and_adopt_takes_it_over(
    harness: Harness, journal: DesiredVercel
) -> None:
    response = _api(harness, "POST", f"/v10/projects/{JOURNAL_WEB}/env", {
        "key": "NEXT_PUBLIC_APP_NAME", "value": "Old name", "type": "plain",
        "target": ["production"]})
    assert response.status_code == 201
    unmanaged = harness.env(JOURNAL_WEB, "NEXT_PUBLIC_APP_NAME")

    plan = by_name(harness.plan(journal))
    assert plan["NEXT_PUBLIC_APP_NAME@production"].action is Action.CONFLICT
    assert plan["NEXT_PUBLIC_APP_NAME@production"].current_id == unmanaged.id
    harness.apply(journal)  # without adopt the conflict is not written
    assert harness.env(JOURNAL_WEB, "NEXT_PUBLIC_APP_NAME").value == "Old name"

    adopted = harness.plan(journal, adopt=True)
    assert [(c.name, c.action) for c in adopted] == [
        ("NEXT_PUBLIC_APP_NAME@production", Action.ADOPT)]
    harness.apply(journal, adopt=True)
    record = harness.env(JOURNAL_WEB, "NEXT_PUBLIC_APP_NAME")
    assert (record.id, record.value) == (unmanaged.id, "Journal")
    assert parse_comment(record.comment)[1] is not None
    assert harness.plan(journal) == ()


def test_raised_rotate_re_mints_and_re_sends_the_client_secret(
    harness: Harness, journal: DesiredVercel
) -> None:
    harness.apply(journal)
    first = harness.env(JOURNAL_WEB, "INFISICAL_CLIENT_SECRET").value
    rotated = with_variable(journal, "INFISICAL_CLIENT_SECRET", rotate=1)

    changes = harness.plan(rotated)

    assert [(c.name, c.action) for c in changes] == [
        ("INFISICAL_CLIENT_SECRET@production", Action.UPDATE)]
    assert ("rotate", 0, 1) in [(d.field, d.before, d.after) for d in changes[0].diffs]
    harness.apply(rotated)
    record = harness.env(JOURNAL_WEB, "INFISICAL_CLIENT_SECRET")
    assert harness.resolver.mints == [SECRET_REF, SECRET_REF]
    assert record.value != first and record.value == harness.resolver.values[SECRET_REF]
    assert parse_comment(record.comment)[1].rot == 1  # type: ignore[union-attr]
    assert harness.plan(rotated) == ()


def test_a_re_minted_secret_releases_the_one_the_variable_held_once_published(
    harness: Harness, journal: DesiredVercel
) -> None:
    harness.apply(journal)
    held = parse_comment(harness.env(JOURNAL_WEB, "INFISICAL_CLIENT_SECRET").comment)[1]
    assert held is not None and held.cs == "csid-1" and harness.resolver.released == []

    harness.apply(with_variable(journal, "INFISICAL_CLIENT_SECRET", rotate=1))

    now = parse_comment(harness.env(JOURNAL_WEB, "INFISICAL_CLIENT_SECRET").comment)[1]
    assert now is not None and now.cs == "csid-2"
    assert harness.resolver.released == [(SECRET_REF, "csid-1")]


def test_each_batched_outcome_is_reported_as_soon_as_vercel_answered_for_it(
    harness: Harness, journal: DesiredVercel
) -> None:
    harness.apply(journal)
    changed = without_variable(journal, "NEXT_PUBLIC_APP_NAME")
    changed = with_variable(changed, "NEXT_PUBLIC_API_URL", value="https://v2.journal.example")
    rec = harness.reconciler(changed)
    rec.observe(markers=harness.markers)
    changes = list(rec.diff())
    heard: list[tuple[int, int]] = []  # (index, writes Vercel had answered by then)

    results = rec.apply_batch(
        changes,
        on_result=lambda i, r: heard.append((i, harness.counter.total("vercel",
                                                                      writes_only=True))),
    )

    assert sorted(i for i, _ in heard) == list(range(len(changes))) == [0, 1]
    assert all(not isinstance(r, Exception) for r in results)
    # the upsert is reported after its POST, the delete after its own DELETE: one each
    assert [w for _, w in sorted(heard, key=lambda h: h[1])] == [1, 2]


def test_client_secret_without_journal_marker_is_unverifiable_not_drift(
    harness: Harness, journal: DesiredVercel
) -> None:
    harness.apply(journal)
    harness.markers.clear()

    rec = harness.reconciler(journal)
    rec.observe(markers={})

    assert rec.diff() == ()
    assert [n.change_key for n in rec.notes] == ["vercel/env/INFISICAL_CLIENT_SECRET@production"]
    assert harness.resolver.mints == [SECRET_REF]


def test_a_run_under_another_fingerprint_key_verifies_nothing_and_writes_nothing(
    harness: Harness, journal: DesiredVercel
) -> None:
    harness.apply(journal)
    minted = list(harness.resolver.mints)
    harness.markers.clear()  # a fresh clone: no journal
    harness.fingerprint_key = b"another-teams-key"

    rec = harness.reconciler(journal)
    rec.observe(markers={})

    assert rec.diff() == ()
    assert {n.change_key for n in rec.notes} == {
        "vercel/env/INFISICAL_CLIENT_ID@production",
        "vercel/env/INFISICAL_CLIENT_SECRET@production",
    }
    assert all("(fingerprint key differs)" in n.message for n in rec.notes)
    assert harness.apply(journal) == []
    assert harness.counter.total("vercel", writes_only=True) == 0
    assert harness.resolver.mints == minted


def test_a_fresh_state_with_the_same_key_verifies_every_readable_value_at_the_vendor(
    harness: Harness, journal: DesiredVercel
) -> None:
    harness.apply(journal)
    harness.markers.clear()
    harness.resolver.values[ID_REF] = "a-new-client-id"

    changes = harness.plan(journal)

    assert [(c.name, c.reason) for c in changes] == [
        ("INFISICAL_CLIENT_ID@production", "value differs or was replaced outside converge")]


def test_targets_changed_recreates_the_record_on_the_new_targets(
    harness: Harness, journal: DesiredVercel
) -> None:
    harness.apply(journal)
    wider = with_variable(journal, "NEXT_PUBLIC_APP_NAME", targets=("preview", "production"))

    changes = harness.plan(wider)

    assert [(c.name, c.action, c.desired["mode"]) for c in changes] == [
        ("NEXT_PUBLIC_APP_NAME@preview+production", Action.UPDATE, "replace")]
    harness.apply(wider)
    assert sorted(harness.env(JOURNAL_WEB, "NEXT_PUBLIC_APP_NAME").target) == [
        "preview", "production"]
    assert harness.plan(wider) == ()


def test_a_sensitive_record_made_public_is_replaced_not_edited_in_place(
    harness: Harness, journal: DesiredVercel
) -> None:
    # Vercel never makes a sensitive var readable again in place (PATCH or upsert), so
    # the type change must go out as delete + create.
    harness.apply(journal)
    before = harness.env(JOURNAL_WEB, "INFISICAL_CLIENT_ID")
    public = with_variable(journal, "INFISICAL_CLIENT_ID", kind="public", type="plain",
                           value="not-a-secret-any-more", ref=None)

    changes = harness.plan(public)

    assert [(c.name, c.desired["mode"]) for c in changes] == [
        ("INFISICAL_CLIENT_ID@production", "replace")]
    harness.apply(public)
    after = harness.env(JOURNAL_WEB, "INFISICAL_CLIENT_ID")
    assert (after.type, after.value) == ("plain", "not-a-secret-any-more")
    assert after.id != before.id
    assert harness.plan(public) == ()


def test_lost_create_response_is_reobserved_and_never_duplicated(
    harness: Harness, journal: DesiredVercel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVERGE_RETRY_FAST", "1")
    drop = InProcessTransport(create_app(harness.world), drop=lambda r: r.method == "POST",
                              max_drops=1)
    harness.transport = drop

    harness.apply(journal)

    assert drop.dropped == 1
    assert harness.counter.retries["vercel"] == 1
    assert harness.counter.total("vercel", writes_only=True) == 1  # found, not re-sent
    keys = sorted(e.key for e in harness.envs(JOURNAL_WEB))
    assert keys == ["INFISICAL_CLIENT_ID", "INFISICAL_CLIENT_SECRET", "NEXT_PUBLIC_API_URL",
                    "NEXT_PUBLIC_APP_NAME"]
    assert harness.plan(journal) == ()


def test_wrong_token_is_a_vendor_auth_error_naming_vercel_token(
    harness: Harness, journal: DesiredVercel
) -> None:
    rec = harness.reconciler(journal, token="not-the-token")

    with pytest.raises(VendorAuthError) as caught:
        rec.observe(markers={})

    assert caught.value.exit_code == 4
    assert "VERCEL_TOKEN" in caught.value.hint
    assert "not-the-token" not in str(caught.value) + caught.value.hint


def test_tampered_public_value_holding_a_secret_is_refused_before_any_write(
    harness: Harness, journal: DesiredVercel
) -> None:
    leaked = "AKIAIOSFODNN7EXAMPLE"
    tampered = with_variable(journal, "NEXT_PUBLIC_API_URL", value=leaked)
    rec = harness.reconciler(tampered)
    rec.observe(markers={})
    changes = rec.diff()

    with pytest.raises(PolicyDenied) as caught:
        rec.apply_batch(changes)

    assert "NEXT_PUBLIC_API_URL" in str(caught.value)
    assert leaked not in str(caught.value) + caught.value.hint
    assert harness.counter.total("vercel", writes_only=True) == 0
    assert harness.envs(JOURNAL_WEB) == []
    assert harness.resolver.mints == []


def _api(harness: Harness, method: str, path: str, body: object) -> httpx.Response:
    """An out-of-band edit, as a person with the dashboard would make it."""
    with httpx.Client(transport=InProcessTransport(create_app(harness.world)),
                      base_url="http://vercel.test") as client:
        return client.request(
            method, path, json=body, params={"teamId": vercel_seed.team_id()},
            headers={"Authorization": f"Bearer {harness.world.credentials.vercel_token}"},
        )


def _patch(harness: Harness, env_id: str, body: dict[str, object]) -> None:
    response = _api(harness, "PATCH", f"/v9/projects/{JOURNAL_WEB}/env/{env_id}", body)
    assert response.status_code == 200, response.text


def test_variable_created_between_plan_and_apply_is_not_overwritten(
    harness: Harness, journal: DesiredVercel
) -> None:
    rec = harness.reconciler(journal)
    rec.observe(markers={})
    changes = rec.diff()
    _api(harness, "POST", f"/v10/projects/{JOURNAL_WEB}/env", {
        "key": "NEXT_PUBLIC_APP_NAME", "value": "Hand made", "type": "plain",
        "target": ["production"]})

    outcomes = dict(zip([c.name for c in changes], rec.apply_batch(changes), strict=True))

    assert isinstance(outcomes["NEXT_PUBLIC_APP_NAME@production"], VendorConflictError)
    assert not isinstance(outcomes["NEXT_PUBLIC_API_URL@production"], Exception)
    assert harness.env(JOURNAL_WEB, "NEXT_PUBLIC_APP_NAME").value == "Hand made"
    assert harness.env(JOURNAL_WEB, "NEXT_PUBLIC_API_URL").value == (
        "https://api.journal.acme.example")


def test_comment_only_change_patches_the_comment_without_re_minting(
    harness: Harness, journal: DesiredVercel
) -> None:
    harness.apply(journal)
    before = harness.env(JOURNAL_WEB, "INFISICAL_CLIENT_SECRET")
    commented = with_variable(journal, "INFISICAL_CLIENT_SECRET", comment="for the web app")

    changes = harness.plan(commented)

    assert [(c.name, c.desired["mode"]) for c in changes] == [
        ("INFISICAL_CLIENT_SECRET@production", "comment")]
    harness.apply(commented)
    after = harness.env(JOURNAL_WEB, "INFISICAL_CLIENT_SECRET")
    assert after.value == before.value and harness.resolver.mints == [SECRET_REF]
    assert parse_comment(after.comment)[0] == "for the web app"
    assert harness.plan(commented) == ()


def test_create_resumed_after_a_crash_finds_its_own_record_and_overwrites_it(
    harness: Harness, journal: DesiredVercel
) -> None:
    rec = harness.reconciler(journal)
    rec.observe(markers={})
    changes = rec.diff()
    rec.apply_batch(changes)  # the run dies here, before the journal records the results
    landed = harness.env(JOURNAL_WEB, "INFISICAL_CLIENT_SECRET")

    resumed = harness.reconciler(journal)
    outcomes = resumed.apply_batch(changes)  # apply again, from the same plan

    assert not [o for o in outcomes if isinstance(o, Exception)]
    record = harness.env(JOURNAL_WEB, "INFISICAL_CLIENT_SECRET")
    assert record.id == landed.id
    assert record.value == harness.resolver.values[SECRET_REF] != landed.value
    assert len(harness.envs(JOURNAL_WEB)) == 4
