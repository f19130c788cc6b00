"""The pure diff: ownership, pairing by key + target set, fingerprints and journal markers."""

from __future__ import annotations

import dataclasses

from converge.changes import Action
from converge.desired import DesiredVariable, DesiredVercel
from converge.vendors.vercel.diff import diff_env_vars
from converge.vendors.vercel.observe import ObservedVariable
from converge.vendors.vercel.ownership import Ownership, parse_comment, ref_digest

SECRET_REF = "identity/token-service@journal-prod/client-secret"
ID_REF = "identity/token-service@journal-prod/client-id"


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
         project: str = "journal", owner: str = "vercel") -> Ownership:
    return Ownership(owner=owner, project=project, ref=ref_digest(ref), rot=rot, fp=fp)


def test_client_secret_in_sync_when_marker_and_journal_marker_match() -> None:
    result = diff_env_vars(
        desired(server("INFISICAL_CLIENT_SECRET", SECRET_REF)),
        [record("INFISICAL_CLIENT_SECRET", ownership=ours(SECRET_REF))],
        project="journal", fingerprints={},
        markers={"vercel/env/INFISICAL_CLIENT_SECRET@production": "e1:1"},
    )
    assert result.changes == () and result.notes == ()


def test_client_secret_whose_change_marker_moved_is_re_sent() -> None:
    result = diff_env_vars(
        desired(server("INFISICAL_CLIENT_SECRET", SECRET_REF)),
        [record("INFISICAL_CLIENT_SECRET", ownership=ours(SECRET_REF), marker="e1:2")],
        project="journal", fingerprints={},
        markers={"vercel/env/INFISICAL_CLIENT_SECRET@production": "e1:1"},
    )
    assert [(c.action, c.desired["mode"]) for c in result.changes] == [
        (Action.UPDATE, "upsert")]
    assert result.changes[0].diffs[0].before == "(sensitive)"


def test_changed_reference_is_an_update() -> None:
    result = diff_env_vars(
        desired(server("INFISICAL_CLIENT_ID", ID_REF)),
        [record("INFISICAL_CLIENT_ID", ownership=ours("identity/other@x-prod/client-id"))],
        project="journal", fingerprints={"INFISICAL_CLIENT_ID@production": "fp1"},
        markers={},
    )
    assert [d.field for d in result.changes[0].diffs] == ["ref"]


def test_another_projects_marker_is_a_conflict_and_never_deleted_or_adopted() -> None:
    foreign = record("INFISICAL_CLIENT_ID", ownership=ours(ID_REF, project="analytics"))
    leftover = record("OLD_VAR", id="e2", ownership=ours(project="analytics"))
    result = diff_env_vars(
        desired(server("INFISICAL_CLIENT_ID", ID_REF)), [foreign, leftover],
        project="journal", fingerprints={}, markers={}, adopt=True,
    )
    assert [(c.name, c.action) for c in result.changes] == [
        ("INFISICAL_CLIENT_ID@production", Action.CONFLICT)]


def test_partial_target_overlap_with_an_unmanaged_record_is_a_conflict_even_with_adopt() -> None:
    result = diff_env_vars(
        desired(public("NEXT_PUBLIC_APP_NAME", "Journal")),
        [record("NEXT_PUBLIC_APP_NAME", type="plain", targets=("preview", "production"),
                value="x")],
        project="journal", fingerprints={}, markers={}, adopt=True,
    )
    assert [c.action for c in result.changes] == [Action.CONFLICT]
    assert "remove it or change its targets" in result.changes[0].reason


def test_branch_scoped_records_do_not_block_or_pair() -> None:
    result = diff_env_vars(
        desired(public("NEXT_PUBLIC_APP_NAME", "Journal", targets=("preview",))),
        [record("NEXT_PUBLIC_APP_NAME", type="plain", targets=("preview",), value="x",
                branch="staging")],
        project="journal", fingerprints={}, markers={},
    )
    assert [c.action for c in result.changes] == [Action.CREATE]


def test_type_change_of_an_owned_record_is_a_replacement() -> None:
    result = diff_env_vars(
        desired(server("INFISICAL_CLIENT_ID", ID_REF)),
        [record("INFISICAL_CLIENT_ID", type="encrypted", ownership=ours(ID_REF))],
        project="journal", fingerprints={"INFISICAL_CLIENT_ID@production": "fp1"},
        markers={},
    )
    assert [(c.desired["mode"], c.desired["replaces"]) for c in result.changes] == [
        ("replace", ["e1"])]


def test_marker_comment_round_trips_with_a_user_comment() -> None:
    own = ours(SECRET_REF, rot=3)
    assert parse_comment(f"rotated by ops {own.render()}") == ("rotated by ops", own)
    assert parse_comment("converge:managed owner=vercel") == ("", None)


def test_a_variable_flagged_adopt_takes_over_its_unmanaged_record_without_global_adopt() -> None:
    flagged = dataclasses.replace(public("NEXT_PUBLIC_APP_NAME", "Journal"), adopt=True)
    other = public("NEXT_PUBLIC_API_URL", "https://api.example")
    result = diff_env_vars(
        desired(flagged, other),
        [record("NEXT_PUBLIC_APP_NAME", type="plain", value="Journal"),
         record("NEXT_PUBLIC_API_URL", id="e2", type="plain", value="https://api.example")],
        project="journal", fingerprints={}, markers={},
    )
    assert [(c.name, c.action) for c in result.changes] == [
        ("NEXT_PUBLIC_API_URL@production", Action.CONFLICT),
        ("NEXT_PUBLIC_APP_NAME@production", Action.ADOPT)]
    assert result.changes[1].desired["mode"] == "upsert"
    assert "under adopt: in project.yaml" in result.changes[0].reason
