"""Settle what a killed or failed run left open, against what observe finds (architecture §6).

A run killed between a vendor write and its journal record leaves an operation in
``intent`` (or ``deleted``) while the vendor already holds the outcome. Left alone, the
journal's managed objects would miss a created object (the next diff finds it ours and
in sync, so nothing records it) or keep a deleted one (nothing is left to delete). So,
under the project lock, after ``observe`` and before ``diff``, ``settle_open_operations``
reads the reconciler's ``owned_objects()`` (the objects carrying converge's marker for
this project) and, for each open operation of this system that an earlier run left:

    create/adopt intent   found    → done, with the vendor id and marker found (converge
                                     made it: the marker says so)
                          gone     → settled; it was never made
    update intent         found    → settled; managed with the id found, the marker the
                                     journal had kept (the write may not have landed: a
                                     moved marker is re-checked by the diff)
                          gone     → settled; ownership dropped (nothing left to own)
    delete intent/deleted gone     → confirmed and forgotten
                          found    → settled; still managed (the diff deletes it again)

Finally every object found with the marker that the journal does not list becomes managed
(without a marker: converge does not vouch for a value it did not record). A system whose
reconciler cannot tell (``owned_objects()`` is None) is left to the old rule: a later
successful run of the same systems settles the operations without looking.
"""

from __future__ import annotations

from converge.engine.journal import Journal, ManagedObject, OperationRecord
from converge.errors import JournalError
from converge.vendors.base import OwnedObject, SystemReconciler


def settle_open_operations(
    journal: Journal, project: str, reconciler: SystemReconciler, run_id: str
) -> bool:
    """Settle the open operations earlier runs of ``project`` left in this system (see the
    module docstring); True when the journal changed (the caller re-reads its markers)."""
    owned = reconciler.owned_objects()
    if owned is None:
        return False
    system = reconciler.system
    ops = [
        op
        for op in journal.unfinished_operations(project)
        if op.system == system and op.run_id != run_id
    ]
    changed = False
    for op in ops:
        _settle(journal, op, owned.get(op.key), run_id)
        changed = True
    managed = {m.key for m in journal.managed_objects(project, system)}
    for key, found in sorted(owned.items()):
        if key in managed:
            continue
        _, kind, name = key.split("/", 2)
        journal.upsert_managed(project, system, kind, name, vendor_id=found.vendor_id,
                               marker=None, run_id=run_id)
        changed = True
    return changed


def _settle(journal: Journal, op: OperationRecord, found: OwnedObject | None, run_id: str) -> None:
    if op.action in ("create", "adopt"):
        if found is not None and op.state == "intent":
            journal.record_done(op.id, vendor_id=found.vendor_id, marker=found.marker)
    elif op.action == "update":
        current = _managed(journal, op)
        if found is not None:
            journal.upsert_managed(
                op.project, op.system, op.kind, op.name, vendor_id=found.vendor_id,
                marker=current.marker if current is not None else None,
                fingerprint=current.fingerprint if current is not None else None,
                decision_id=current.decision_id if current is not None else None,
                run_id=current.run_id if current is not None else op.run_id,
            )
        elif current is not None:
            _forget(journal, op)
    elif op.action == "delete" and found is None:
        if op.state in ("intent", "deleted"):
            journal.record_confirmed(op.id)
        journal.record_forgotten(op.id)
    journal.resolve_operations([op.id], run_id)


def _managed(journal: Journal, op: OperationRecord) -> ManagedObject | None:
    for managed in journal.managed_objects(op.project, op.system):
        if managed.kind == op.kind and managed.name == op.name:
            return managed
    return None


def _forget(journal: Journal, op: OperationRecord) -> None:
    try:
        journal.forget_managed(op.project, op.system, op.kind, op.name)
    except JournalError:
        return  # an unconfirmed delete of it is still open: its own settlement decides
