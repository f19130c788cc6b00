"""The Supabase reconciler over real loopback HTTP against the served emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from converge.desired import DesiredSupabase
from converge.vendors.http import RequestCounter
from converge.vendors.supabase.client import SupabaseClient
from converge.vendors.supabase.reconciler import SupabaseReconciler
from converge_sandbox.postgres import PostgresServer
from converge_sandbox.serving import ServedApp, serve_in_thread
from converge_sandbox.supabase.app import create_app
from converge_sandbox.world import SandboxWorld
from tests.vendors.supabase.conftest import JOURNAL, DictPublisher, DictResolver, rls_of

pytestmark = pytest.mark.integration


@pytest.fixture
def served(world: SandboxWorld) -> Iterator[ServedApp]:
    with serve_in_thread(create_app(world)) as app:
        yield app


def test_journal_applies_over_loopback_and_replans_empty(
    served: ServedApp, world: SandboxWorld, journal: DesiredSupabase,
    resolver: DictResolver, publisher: DictPublisher, postgres_server: PostgresServer,
) -> None:
    env = {"SUPABASE_API_URL": served.url,
           "SUPABASE_ACCESS_TOKEN": world.credentials.supabase_access_token}
    markers: dict[str, str] = {}

    def reconciler(counter: RequestCounter) -> SupabaseReconciler:
        client = SupabaseClient.from_environment(env, counter=counter)
        return SupabaseReconciler(journal, client, resolver=resolver, publisher=publisher)

    rec = reconciler(RequestCounter())
    rec.observe(markers=markers)
    for change in rec.diff():
        outcome = rec.apply(change)
        if outcome.marker:
            markers[change.key] = outcome.marker
    rec.close()
    assert rls_of(postgres_server, JOURNAL)["profiles"] is True
    assert set(publisher.variables) == {"NEXT_PUBLIC_SUPABASE_URL",
                                        "NEXT_PUBLIC_SUPABASE_ANON_KEY"}

    counter = RequestCounter()
    again = reconciler(counter)
    again.observe(markers=markers)
    assert list(again.diff()) == []
    # auth, postgrest and api-keys reads; the table listing
    assert counter.requests == {("supabase", "GET", 200): 3, ("supabase", "POST", 201): 1}
    again.close()
