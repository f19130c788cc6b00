"""What a failed or killed run left open is settled against what observe finds, so the
journal's managed objects match what the vendor holds with converge's marker
(``engine.settle``; issue 8, item 10). Runs on both journal backends."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from converge.changes import Change, change_key
from converge.engine.journal import ChangeRef, Journal
from converge.engine.settle import settle_open_operations
from converge.vendors.base import AppliedChange, BaseReconciler, OwnedObject


class Observed(BaseReconciler):
    """A reconciler whose observe found ``owned`` (change key -> object)."""

    system = "vercel"

    def __init__(self, owned: Mapping[str, OwnedObject] | None):
        self.owned = owned

    def desired_keys(self) -> frozenset[str]:
        return frozenset()

    def observe(self, *, markers: Mapping[str, str]) -> None:
        return None

    def diff(self) -> Sequence[Change]:
        return ()

    def apply(self, change: Change) -> AppliedChange:
        raise AssertionError("settling writes nothing to the vendor")

    def owned_objects(self) -> Mapping[str, OwnedObject] | None:
        return self.owned


def ref(name: str, action: str) -> ChangeRef:
    return ChangeRef("vercel", "env", name, action, change_key("vercel", "env", name))


def key(name: str) -> str:
    return change_key("vercel", "env", name)


def killed_run(journal: Journal) -> dict[str, int]:
    """A run that had applied A and B and was stopped with these operations open: create
    C (landed), create D (never sent), delete A (landed), delete B (not sent), update E
    (its object is there), update F (its object is gone)."""
    setup = journal.begin_run("journal", systems=["vercel"], command="apply", actor="t")
    for name, marker in (("A", "a:1"), ("B", "b:1"), ("E", "e:1"), ("F", "f:1")):
        op = journal.record_intent(setup, ref(name, "create"))
        journal.record_done(op, vendor_id=name.lower(), marker=marker)
    journal.finish_run(setup, "succeeded")
    run = journal.begin_run("journal", systems=["vercel"], command="apply", actor="t")
    ops = {f"{action} {name}": journal.record_intent(run, ref(name, action))
           for action, name in (("create", "C"), ("create", "D"), ("delete", "A"),
                                ("delete", "B"), ("update", "E"), ("update", "F"))}
    journal.finish_run(run, "interrupted")
    return ops


def test_open_operations_are_settled_against_what_observe_found(journal: Journal) -> None:
    killed_run(journal)
    later = journal.begin_run("journal", systems=["vercel"], command="apply", actor="t")
    observed = Observed({key("B"): OwnedObject("b", "b:1"), key("C"): OwnedObject("c", "c:9"),
                         key("E"): OwnedObject("e", "e:2")})

    assert settle_open_operations(journal, "journal", observed, later.id)

    managed = {m.name: (m.vendor_id, m.marker) for m in journal.managed_objects("journal")}
    assert managed == {
        "B": ("b", "b:1"),  # its delete never went out: still owned
        "C": ("c", "c:9"),  # created by the killed run: owned with what observe found
        "E": ("e", "e:1"),  # the update may not have landed: the old marker is kept
    }
    assert journal.unfinished_operations("journal") == []


def test_a_marked_object_the_journal_missed_becomes_managed_without_a_marker(
    journal: Journal,
) -> None:
    run = journal.begin_run("journal", systems=["vercel"], command="apply", actor="t")

    changed = settle_open_operations(journal, "journal", Observed({key("G"): OwnedObject("g")}),
                                     run.id)

    assert changed
    assert [(m.name, m.vendor_id, m.marker) for m in journal.managed_objects("journal")] == [
        ("G", "g", None)]


def test_a_system_that_cannot_tell_is_left_to_a_later_success(journal: Journal) -> None:
    killed_run(journal)
    later = journal.begin_run("journal", systems=["vercel"], command="apply", actor="t")

    assert not settle_open_operations(journal, "journal", Observed(None), later.id)
    assert len(journal.unfinished_operations("journal")) == 6


def test_the_running_runs_own_operations_are_not_settled(journal: Journal) -> None:
    run = journal.begin_run("journal", systems=["vercel"], command="apply", actor="t")
    journal.record_intent(run, ref("H", "create"))

    settle_open_operations(journal, "journal", Observed({}), run.id)

    assert [o.state for o in journal.operations(run)] == ["intent"]
    assert journal.operations(run)[0].resolved_by is None
