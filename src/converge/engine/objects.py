"""The objects of a system, counted one way for plan, drift, status and the brief.

An object is what one change key names (``system/kind/name``, ``changes.change_key``).
The objects of one system of a project are

- those its desired state declares (``SystemReconciler.desired_keys``): in Infisical each
  role, identity and binding; in Vercel each variable record (a key and its set of
  targets); in Supabase each project ref's auth settings and exposed schemas, and each
  value published to Vercel;
- with those the journal records as managed (``ManagedObject.key``): what converge wrote
  and still owns, so also an object no longer declared (the plan deletes it) and each
  table whose row-level security converge enabled (a table is not declared one by one;
  one converge never had to secure belongs to the database, not to converge).

An object is *in sync* when the plan (or the drift check) has no change for it: that is
the ``in sync (N objects)`` of ``plan``, the ``N objects in sync`` of ``drift`` and the
brief's ``In sync: N resources``. ``status`` counts the journal's managed objects, which
are the same objects once every declared one has been written (a setting converge found
already right is not in the journal until converge first writes it).
"""

from __future__ import annotations

from collections.abc import Iterable

from converge.changes import Change
from converge.engine.journal_records import ManagedObject


def system_objects(declared: Iterable[str], managed: Iterable[ManagedObject]) -> frozenset[str]:
    """The change keys of a system's objects: declared ones and managed ones."""
    return frozenset(declared) | {m.key for m in managed}


def count_in_sync(objects: frozenset[str], changes: Iterable[Change]) -> int:
    """How many of ``objects`` no change touches."""
    return len(objects - {c.key for c in changes})
