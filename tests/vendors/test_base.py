"""The reconciler contract's defaults (vendors/base.py): what a vendor package gets for
the optional hooks it does not fill."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from converge.changes import Action, Change
from converge.errors import ConvergeError
from converge.vendors.base import AppliedChange, BaseReconciler, SystemReconciler


class OneByOne(BaseReconciler):
    system = "vercel"

    def __init__(self, failing: str = "") -> None:
        self.failing = failing
        self.applied: list[str] = []

    def desired_keys(self) -> frozenset[str]:
        return frozenset()

    def observe(self, *, markers: Mapping[str, str]) -> None:
        return None

    def diff(self) -> Sequence[Change]:
        return ()

    def apply(self, change: Change) -> AppliedChange:
        if change.name == self.failing:
            raise ConvergeError(f"vercel refused {change.name}")
        self.applied.append(change.name)
        return AppliedChange(vendor_id=change.name)


def changes(*names: str) -> list[Change]:
    return [
        Change(system="vercel", kind="env", name=n, action=Action.CREATE, stage=0) for n in names
    ]


def test_optional_hooks_default_to_nothing_to_say_and_no_batching() -> None:
    reconciler: SystemReconciler = OneByOne()
    assert reconciler.batches is False
    assert reconciler.notes == ()
    assert reconciler.summary() == {}
    reconciler.close()


def test_default_batch_applies_in_order_and_stops_at_the_first_error() -> None:
    reconciler = OneByOne(failing="B")
    results = reconciler.apply_batch(changes("A", "B", "C"))

    assert reconciler.applied == ["A"]
    assert results[0] == AppliedChange(vendor_id="A")
    assert isinstance(results[1], ConvergeError) and results[1].message == "vercel refused B"
    assert isinstance(results[2], ConvergeError)
    assert results[2].message == "vercel/env/C not attempted: vercel refused B"


def test_a_reconciler_missing_a_required_hook_cannot_be_built() -> None:
    class NoDiff(BaseReconciler):
        system = "vercel"

        def desired_keys(self) -> frozenset[str]:
            return frozenset()

        def observe(self, *, markers: Mapping[str, str]) -> None:
            return None

        def apply(self, change: Change) -> AppliedChange:
            return AppliedChange()

    with pytest.raises(TypeError, match="diff"):
        NoDiff()  # type: ignore[abstract]
