"""The deletion budget: a plan may not delete more than a share (or all) of what converge
manages in a system without --allow-mass-delete."""

from __future__ import annotations

import pytest

from converge.changes import Action, Change
from converge.engine.context import ReconcileOptions
from converge.engine.plan import SystemPlan
from converge.engine.reconcile import DeletionBudgetError, check_deletion_budget


def _plan(deletes: int, updates: int = 0) -> SystemPlan:
    changes = [
        Change(system="vercel", kind="env", name=f"GONE_{i}", action=Action.DELETE, stage=1)
        for i in range(deletes)
    ] + [
        Change(system="vercel", kind="env", name=f"KEPT_{i}", action=Action.UPDATE, stage=1)
        for i in range(updates)
    ]
    return SystemPlan(system="vercel", changes=tuple(changes))


def test_a_small_share_of_deletes_is_allowed() -> None:
    check_deletion_budget(_plan(deletes=1), ReconcileOptions(), in_sync=5)


def test_deleting_more_than_half_is_refused_with_the_flag_named() -> None:
    with pytest.raises(DeletionBudgetError) as caught:
        check_deletion_budget(_plan(deletes=4, updates=1), ReconcileOptions(), in_sync=1)
    assert "deletes 4 of 6 managed objects" in caught.value.message
    assert "--allow-mass-delete" in caught.value.hint


def test_deleting_everything_is_refused_even_for_one_object() -> None:
    with pytest.raises(DeletionBudgetError):
        check_deletion_budget(_plan(deletes=1), ReconcileOptions(), in_sync=0)


def test_allow_mass_delete_lifts_the_budget() -> None:
    options = ReconcileOptions(allow_mass_delete=True)
    check_deletion_budget(_plan(deletes=3), options, in_sync=0)


def test_the_share_is_configurable() -> None:
    with pytest.raises(DeletionBudgetError):
        check_deletion_budget(_plan(deletes=2), ReconcileOptions(max_delete_share=0.2), in_sync=6)
