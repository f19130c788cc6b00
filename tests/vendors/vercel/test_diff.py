"""The pure diff: ownership, pairing by key + target set, fingerprints (with the id of the
key that wrote them) and journal markers."""

from __future__ import annotations

from converge.changes import Action
from converge.desired import DesiredVariable, DesiredVercel
from converge.vendors.vercel.diff import diff_env_vars
from converge.vendors.vercel.observe import ObservedVariable
from converge.vendors.vercel.ownership import Ownership, parse_comment, ref_digest

SECRET_REF = "identity/token-service@journal-prod/client-secret"
ID_REF = "identity/token-service@journal-prod/client-id"
RUN_KEY = "3f2a1b0c"  # this run's fingerprint key id
OTHER_KEY = "9c1e2d3f"
ID_NAME = "INFISICAL_CLIENT_ID@production"


def server(key: str, ref: str, *, targets: tuple[str, ...] = ("production",),
           rotate: int = 0) -> DesiredVariable:
    return DesiredVariable(key=key, kind="server", type="sensitive", targets=targets,
                           environments=("prod",), ref=ref, rotate=rotate)


def public(key: str, value: str, *, targets: tuple[str, ...] = ("production",)
           ) -> DesiredVariable:
    return DesiredVariable(key=key, kind="public", type="plain", targets=targets,
                           environments=("prod",), value=value)


def desired(*variables: DesiredVariable) -> DesiredVercel:
    return DesiredVercel(team="acme", project="journal-web", variables=variables)


def record(key: str, *, id: str = "e1", type: str = "sensitive",
           targets: tuple[str, ...] = ("production",), value: str | None = None,
           ownership: Ownership | None = None, marker: str = "e1:1",
           branch: str | None = None) -> ObservedVariable:
    return ObservedVariable(id=id, key=key, type=type, targets=targets, git_branch=branch,
                            custom_environment_ids=(), value=value, user_comment="",
                            ownership=ownership, marker=marker)


def ours(ref: str | None = None, *, rot: int = 0, fp: str = "fp1",
         project: str = "journal", owner: str = "vercel", kid: str = RUN_KEY) -> Ownership:
    return Ownership(owner=owner, project=project, ref=ref_digest(ref), rot=rot, fp=fp,
                     kid=kid)


def test_client_secret_in_sync_when_marker_and_journal_marker_match() -> None:
    result = diff_env_vars(
        desired(server("INFISICAL_CLIENT_SECRET", SECRET_REF)),
        [record("INFISICAL_CLIENT_SECRET", ownership=ours(SECRET_REF))],
        project="journal", fingerprints={},
        markers={"vercel/env/INFISICAL_CLIENT_SECRET@production": "e1:1"}, key_id=RUN_KEY,
    )
    assert result.changes == () and result.notes == ()


def test_client_secret_whose_change_marker_moved_is_re_sent() -> None:
    result = diff_env_vars(
        desired(server("INFISICAL_CLIENT_SECRET", SECRET_REF)),
        [record("INFISICAL_CLIENT_SECRET", ownership=ours(SECRET_REF), marker="e1:2")],
        project="journal", fingerprints={},
        markers={"vercel/env/INFISICAL_CLIENT_SECRET@production": "e1:1"}, key_id=RUN_KEY,
    )
    assert [(c.action, c.desired["mode"]) for c in result.changes] == [
        (Action.UPDATE, "upsert")]
    assert result.changes[0].diffs[0].before == "(sensitive)"


def test_changed_reference_is_an_update() -> None:
    result = diff_env_vars(
        desired(server("INFISICAL_CLIENT_ID", ID_REF)),
        [record("INFISICAL_CLIENT_ID", ownership=ours("identity/other@x-prod/client-id"))],
        project="journal", fingerprints={"INFISICAL_CLIENT_ID@production": "fp1"},
        markers={}, key_id=RUN_KEY,
    )
    assert [d.field for d in result.changes[0].diffs] == ["ref"]


def test_another_projects_marker_is_a_conflict_and_never_deleted_or_adopted() -> None:
    foreign = record("INFISICAL_CLIENT_ID", ownership=ours(ID_REF, project="analytics"))
    leftover = record("OLD_VAR", id="e2", ownership=ours(project="analytics"))
    result = diff_env_vars(
        desired(server("INFISICAL_CLIENT_ID", ID_REF)), [foreign, leftover],
        project="journal", fingerprints={}, markers={}, key_id=RUN_KEY, adopt=True,
    )
    assert [(c.name, c.action) for c in result.changes] == [
        ("INFISICAL_CLIENT_ID@production", Action.CONFLICT)]


def test_partial_target_overlap_with_an_unmanaged_record_is_a_conflict_even_with_adopt() -> None:
    result = diff_env_vars(
        desired(public("NEXT_PUBLIC_APP_NAME", "Journal")),
        [record("NEXT_PUBLIC_APP_NAME", type="plain", targets=("preview", "production"),
                value="x")],
        project="journal", fingerprints={}, markers={}, key_id=RUN_KEY, adopt=True,
    )
    assert [c.action for c in result.changes] == [Action.CONFLICT]
    assert "remove it or change its targets" in result.changes[0].reason


def test_branch_scoped_records_do_not_block_or_pair() -> None:
    result = diff_env_vars(
        desired(public("NEXT_PUBLIC_APP_NAME", "Journal", targets=("preview",))),
        [record("NEXT_PUBLIC_APP_NAME", type="plain", targets=("preview",), value="x",
                branch="staging")],
        project="journal", fingerprints={}, markers={}, key_id=RUN_KEY,
    )
    assert [c.action for c in result.changes] == [Action.CREATE]


def test_type_change_of_an_owned_record_is_a_replacement() -> None:
    result = diff_env_vars(
        desired(server("INFISICAL_CLIENT_ID", ID_REF)),
        [record("INFISICAL_CLIENT_ID", type="encrypted", ownership=ours(ID_REF))],
        project="journal", fingerprints={"INFISICAL_CLIENT_ID@production": "fp1"},
        markers={}, key_id=RUN_KEY,
    )
    assert [(c.desired["mode"], c.desired["replaces"]) for c in result.changes] == [
        ("replace", ["e1"])]


def test_marker_comment_round_trips_with_a_user_comment() -> None:
    own = ours(SECRET_REF, rot=3)
    assert parse_comment(f"rotated by ops {own.render()}") == ("rotated by ops", own)
    assert parse_comment("converge:managed owner=vercel") == ("", None)


def test_marker_round_trips_its_fingerprint_key_id_and_an_old_marker_has_none() -> None:
    own = ours(SECRET_REF, kid=OTHER_KEY)
    assert f"fp=fp1 kid={OTHER_KEY}" in own.render()
    assert parse_comment(own.render()) == ("", own)
    old = parse_comment("converge:managed owner=vercel project=journal ref=- rot=0 fp=ab")[1]
    assert old is not None and old.kid == ""
    assert not old.key_differs(RUN_KEY)  # read as written with this run's key


def test_a_value_fingerprinted_under_the_same_key_is_in_sync_without_any_journal() -> None:
    result = diff_env_vars(
        desired(server("INFISICAL_CLIENT_ID", ID_REF)),
        [record("INFISICAL_CLIENT_ID", ownership=ours(ID_REF, fp="fp1"))],
        project="journal", fingerprints={ID_NAME: "fp1"}, markers={}, key_id=RUN_KEY,
    )
    assert result.changes == () and result.notes == ()


def test_a_different_fingerprint_under_the_same_key_is_a_value_replaced_outside_converge(
) -> None:
    result = diff_env_vars(
        desired(server("INFISICAL_CLIENT_ID", ID_REF)),
        [record("INFISICAL_CLIENT_ID", ownership=ours(ID_REF, fp="fp1"))],
        project="journal", fingerprints={ID_NAME: "fp2"}, markers={}, key_id=RUN_KEY,
    )
    (change,) = result.changes
    assert change.reason == "value differs or was replaced outside converge"
    assert change.desired["fingerprint_key_id"] == RUN_KEY


def test_a_fingerprint_written_under_another_key_is_unverifiable_never_a_change() -> None:
    result = diff_env_vars(
        desired(server("INFISICAL_CLIENT_ID", ID_REF),
                server("INFISICAL_CLIENT_SECRET", SECRET_REF)),
        [record("INFISICAL_CLIENT_ID", ownership=ours(ID_REF, fp="fp1", kid=OTHER_KEY)),
         record("INFISICAL_CLIENT_SECRET", id="e2",
                ownership=ours(SECRET_REF, kid=OTHER_KEY))],
        project="journal", fingerprints={ID_NAME: "fp-under-this-key"}, markers={},
        key_id=RUN_KEY,
    )
    assert result.changes == ()
    reason = (f"unverifiable (fingerprint key differs): written with fingerprint key id "
              f"{OTHER_KEY}, this run has {RUN_KEY}; set CONVERGE_FINGERPRINT_KEY")
    assert [n.describe() for n in result.notes] == [
        f"INFISICAL_CLIENT_ID (production): {reason}",
        f"INFISICAL_CLIENT_SECRET (production): {reason}",
    ]


def test_under_another_key_a_raised_rotate_or_a_moved_change_marker_still_re_sends() -> None:
    result = diff_env_vars(
        desired(server("INFISICAL_CLIENT_SECRET", SECRET_REF, rotate=1),
                server("INFISICAL_CLIENT_ID", ID_REF)),
        [record("INFISICAL_CLIENT_SECRET", ownership=ours(SECRET_REF, kid=OTHER_KEY)),
         record("INFISICAL_CLIENT_ID", id="e2", marker="e2:2",
                ownership=ours(ID_REF, kid=OTHER_KEY))],
        project="journal", fingerprints={}, key_id=RUN_KEY,
        markers={f"vercel/env/{ID_NAME}": "e2:1"},
    )
    assert {c.name: c.reason for c in result.changes} == {
        "INFISICAL_CLIENT_SECRET@production": "rotation requested",
        ID_NAME: "value differs or was replaced outside converge",
    }
    assert result.notes == ()


def test_a_client_secret_untouched_since_this_states_apply_is_in_sync_under_another_key(
) -> None:
    result = diff_env_vars(
        desired(server("INFISICAL_CLIENT_SECRET", SECRET_REF)),
        [record("INFISICAL_CLIENT_SECRET", ownership=ours(SECRET_REF, kid=OTHER_KEY))],
        project="journal", fingerprints={}, key_id=RUN_KEY,
        markers={"vercel/env/INFISICAL_CLIENT_SECRET@production": "e1:1"},
    )
    assert result.changes == () and result.notes == ()


def test_a_client_secret_without_a_journal_marker_is_unverifiable_never_re_minted() -> None:
    result = diff_env_vars(
        desired(server("INFISICAL_CLIENT_SECRET", SECRET_REF)),
        [record("INFISICAL_CLIENT_SECRET", ownership=ours(SECRET_REF))],
        project="journal", fingerprints={}, markers={}, key_id=RUN_KEY,
    )
    assert result.changes == ()
    (note,) = result.notes
    assert note.message.startswith("unverifiable (write-only): ")


def test_a_marker_without_a_key_id_is_read_as_this_keys_and_re_sent_once_when_it_differs(
) -> None:
    same = diff_env_vars(
        desired(server("INFISICAL_CLIENT_ID", ID_REF)),
        [record("INFISICAL_CLIENT_ID", ownership=ours(ID_REF, fp="fp1", kid=""))],
        project="journal", fingerprints={ID_NAME: "fp1"}, markers={}, key_id=RUN_KEY,
    )
    other = diff_env_vars(
        desired(server("INFISICAL_CLIENT_ID", ID_REF)),
        [record("INFISICAL_CLIENT_ID", ownership=ours(ID_REF, fp="fp1", kid=""))],
        project="journal", fingerprints={ID_NAME: "fp2"}, markers={}, key_id=RUN_KEY,
    )
    assert same.changes == () and same.notes == ()
    (change,) = other.changes
    assert change.reason.startswith("value differs, or was fingerprinted with another key "
                                    "before fingerprint key ids")


def test_a_comment_change_keeps_the_fingerprint_and_the_key_that_wrote_it() -> None:
    result = diff_env_vars(
        desired(DesiredVariable(key="INFISICAL_CLIENT_ID", kind="server", type="sensitive",
                                targets=("production",), environments=("prod",), ref=ID_REF,
                                comment="owned by ops")),
        [record("INFISICAL_CLIENT_ID", ownership=ours(ID_REF, fp="fp1", kid=OTHER_KEY))],
        project="journal", fingerprints={}, markers={}, key_id=RUN_KEY,
    )
    (change,) = result.changes
    assert change.desired["mode"] == "comment"
    assert (change.desired["fingerprint"], change.desired["fingerprint_key_id"]) == (
        "fp1", OTHER_KEY)
