"""The objects of a system (engine.objects): declared ones with the journal's managed ones;
in sync is every one no change touches."""

from __future__ import annotations

from converge.changes import Action, Change
from converge.engine.journal import ManagedObject
from converge.engine.objects import count_in_sync, system_objects


def managed(kind: str, name: str) -> ManagedObject:
    return ManagedObject("journal", "supabase", kind, name, None, None, None, None, None, "t")


def change(kind: str, name: str, action: Action = Action.UPDATE) -> Change:
    return Change(system="supabase", kind=kind, name=name, action=action, stage=1)


def test_objects_are_the_declared_ones_and_the_managed_ones_once_each() -> None:
    declared = {"supabase/auth/ref", "supabase/publish/URL"}
    found = system_objects(declared, [managed("auth", "ref"), managed("rls", "ref/public.a")])
    assert found == {"supabase/auth/ref", "supabase/publish/URL", "supabase/rls/ref/public.a"}


def test_every_change_takes_its_object_out_of_sync_and_others_count_nothing() -> None:
    objects = frozenset({"supabase/auth/ref", "supabase/rls/ref/public.a", "supabase/publish/URL"})
    changes = [
        change("auth", "ref"),
        change("rls", "ref/public.a", Action.DELETE),
        change("rls", "ref/public.new"),  # a table converge never secured: not an object
    ]
    assert count_in_sync(objects, changes) == 1
    assert count_in_sync(objects, []) == 3
