"""How planned changes read as drift (pure): kinds, desired against actual, rendering."""

from __future__ import annotations

from converge.changes import Action, Change, FieldDiff
from converge.ops.drift import DriftReport, SystemDrift, classify_change
from converge.ops.drift_render import render_markdown, render_text


def change(action: Action, *, system: str = "vercel", kind: str = "env", name: str = "K@production",
           diffs: tuple[FieldDiff, ...] = ()) -> Change:
    return Change(system=system, kind=kind, name=name, action=action, stage=1, diffs=diffs,
                  reason="why", label=name)


def test_fields_read_desired_from_after_and_actual_from_before() -> None:
    item = classify_change(change(Action.UPDATE, diffs=(FieldDiff("value", "live", "wanted"),)))
    assert item.kind == "changed"
    [f] = item.fields
    assert (f.field, f.desired, f.actual) == ("value", "wanted", "live")


def test_a_create_is_missing_and_says_deleted_outside_when_converge_had_applied_it() -> None:
    planned = change(Action.CREATE)
    assert classify_change(planned).kind == "missing"
    assert "never applied" in classify_change(planned).reason
    known = classify_change(planned, known=frozenset({planned.key}))
    assert "deleted outside converge" in known.reason


def test_a_delete_is_added_and_a_conflict_is_unmanaged() -> None:
    assert classify_change(change(Action.DELETE)).kind == "added"
    assert classify_change(change(Action.CONFLICT)).kind == "unmanaged"


def test_rls_off_is_changed_on_a_secured_table_and_added_on_an_unknown_one() -> None:
    rls = change(Action.UPDATE, system="supabase", kind="rls", name="ref/public.notes",
                 diffs=(FieldDiff("row_level_security", False, True),))
    assert classify_change(rls).kind == "added"
    assert classify_change(rls, known=frozenset({rls.key})).kind == "changed"


def test_report_without_items_has_no_drift_even_with_unverifiable_notes() -> None:
    report = DriftReport("journal", "sha256:" + "0" * 64, (
        SystemDrift("vercel", (), in_sync=4, unverifiable=("SECRET: write-only",)),))
    assert not report.has_drift
    text = render_text(report)
    assert "No drift." in text
    assert "? SECRET: write-only (unverifiable, not drift)" in text
    assert "| unverifiable |" in render_markdown(report)


def test_text_rendering_shows_each_field_desired_and_actual() -> None:
    item = classify_change(change(Action.UPDATE, diffs=(FieldDiff("jwt_exp", 7200, 3600),)))
    report = DriftReport("journal", "sha256:" + "0" * 64, (SystemDrift("vercel", (item,)),))
    assert report.has_drift
    assert report.counts()["changed"] == 1
    assert "      jwt_exp: desired 3600, actual 7200" in render_text(report)
