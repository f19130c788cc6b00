"""VercelPublisher: values another reconciler (Supabase) publishes as managed Vercel vars."""

from __future__ import annotations

import jwt
import pytest

from converge.desired import DesiredVercel
from converge.errors import PolicyDenied, VendorConflictError
from converge.vendors.base import Publication, PublishedState
from converge.vendors.vercel.client import ProjectScope
from converge.vendors.vercel.ownership import parse_comment
from converge.vendors.vercel.publisher import VercelPublisher
from converge.vendors.vercel.wire import NewEnvVar
from tests.vendors.vercel.conftest import FINGERPRINT_KEY, Harness, public_value_check

URL_KEY = "NEXT_PUBLIC_SUPABASE_URL"
URL_WANTED = Publication(URL_KEY, "https://abc.supabase.co", ("production",))


def publisher(harness: Harness, key: bytes = FINGERPRINT_KEY) -> VercelPublisher:
    return VercelPublisher(
        harness.client(), scope=ProjectScope("acme", "journal-web"), project="journal",
        fingerprint_key=key, public_value_check=public_value_check,
    )


def test_publish_creates_a_plain_variable_marked_as_published_by_supabase(
    harness: Harness,
) -> None:
    pub = publisher(harness)
    fp = pub.publish(URL_KEY, "https://abc.supabase.co", targets=["production"],
                     sensitive=False)

    record = harness.env("journal-web", URL_KEY)
    assert (record.type, record.value, record.target) == (
        "plain", "https://abc.supabase.co", ["production"])
    ownership = parse_comment(record.comment)[1]
    assert ownership is not None and ownership.owned_by("supabase", "journal")
    assert fp == parse_comment(record.comment)[1].fp  # type: ignore[union-attr]
    assert publisher(harness).compare([URL_WANTED]) == {URL_KEY: PublishedState("in_sync")}


def test_publishing_the_same_value_again_writes_nothing_and_a_new_value_updates_in_place(
    harness: Harness,
) -> None:
    publisher(harness).publish(URL_KEY, "https://abc.supabase.co", targets=["production"],
                               sensitive=False)
    first = harness.env("journal-web", URL_KEY)

    again = publisher(harness)
    again.publish(URL_KEY, "https://abc.supabase.co", targets=["production"], sensitive=False)
    assert harness.counter.total("vercel", writes_only=True) == 0

    publisher(harness).publish(URL_KEY, "https://xyz.supabase.co", targets=["production"],
                               sensitive=False)
    record = harness.env("journal-web", URL_KEY)
    assert (record.id, record.value) == (first.id, "https://xyz.supabase.co")


def test_published_variables_are_neither_deleted_nor_claimed_by_the_vercel_reconciler(
    harness: Harness, journal: DesiredVercel
) -> None:
    publisher(harness).publish(URL_KEY, "https://abc.supabase.co", targets=["production"],
                               sensitive=False)
    harness.apply(journal)

    assert harness.plan(journal) == ()
    assert harness.env("journal-web", URL_KEY).value == "https://abc.supabase.co"


def test_publishing_a_service_role_key_to_a_public_variable_is_refused(
    harness: Harness,
) -> None:
    service_role = jwt.encode({"role": "service_role", "iss": "supabase"}, "k" * 32)

    with pytest.raises(PolicyDenied) as caught:
        publisher(harness).publish("NEXT_PUBLIC_SUPABASE_ANON_KEY", service_role,
                                   targets=["production"], sensitive=False)

    assert service_role not in str(caught.value)
    assert harness.envs("journal-web") == []


def test_publishing_over_an_unmanaged_variable_is_a_conflict(harness: Harness) -> None:
    pub = publisher(harness)
    pub.client.create_env(  # someone made it by hand
        ProjectScope("acme", "journal-web"),
        [NewEnvVar(key=URL_KEY, value="https://hand.made", type="plain",
                   target=["production"])],
        upsert=False,
    )

    with pytest.raises(VendorConflictError):
        pub.publish(URL_KEY, "https://abc.supabase.co", targets=["production"],
                    sensitive=False)

    assert harness.env("journal-web", URL_KEY).value == "https://hand.made"


def test_compare_tells_missing_out_of_date_and_in_sync_from_the_vendor_alone(
    harness: Harness,
) -> None:
    assert publisher(harness).compare([URL_WANTED])[URL_KEY].status == "missing"
    publisher(harness).publish(URL_KEY, "https://old.supabase.co", targets=["production"],
                               sensitive=False)

    assert publisher(harness).compare([URL_WANTED])[URL_KEY] == PublishedState(
        "differs", "the published value is out of date")
    assert harness.counter.total("vercel") == 1  # one list request, no write


def test_a_plain_value_compares_as_itself_whatever_key_fingerprinted_it(
    harness: Harness,
) -> None:
    publisher(harness).publish(URL_KEY, "https://abc.supabase.co", targets=["production"],
                               sensitive=False)

    states = publisher(harness, b"another-teams-key").compare([URL_WANTED])

    assert states == {URL_KEY: PublishedState("in_sync")}


def test_a_hidden_value_fingerprinted_under_another_key_is_unverifiable(
    harness: Harness,
) -> None:
    key = "SUPABASE_ANON_KEY"  # not NEXT_PUBLIC_: sent as sensitive, never shown again
    publisher(harness).publish(key, "anon-value", targets=["production"], sensitive=False)
    wanted = [Publication(key, "anon-value", ("production",))]

    same = publisher(harness).compare(wanted)[key]
    other = publisher(harness, b"another-teams-key").compare(wanted)[key]

    assert same == PublishedState("in_sync")
    assert other.status == "unverifiable"
    assert other.reason.startswith("unverifiable (fingerprint key differs): written with "
                                   "fingerprint key id ")
    assert "anon-value" not in repr(wanted) + other.reason
