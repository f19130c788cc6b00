"""VercelPublisher: values another reconciler (Supabase) publishes as managed Vercel vars."""

from __future__ import annotations

import jwt
import pytest

from converge.desired import DesiredVercel
from converge.errors import PolicyDenied, VendorConflictError
from converge.vendors.vercel.client import ProjectScope
from converge.vendors.vercel.ownership import parse_comment
from converge.vendors.vercel.publisher import VercelPublisher
from converge.vendors.vercel.wire import NewEnvVar
from tests.vendors.vercel.conftest import FINGERPRINT_KEY, Harness, public_value_check

URL_KEY = "NEXT_PUBLIC_SUPABASE_URL"


def publisher(harness: Harness) -> VercelPublisher:
    return VercelPublisher(
        harness.client(), scope=ProjectScope("acme", "journal-web"), project="journal",
        fingerprint_key=FINGERPRINT_KEY, public_value_check=public_value_check,
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
    assert publisher(harness).published() == {URL_KEY: fp}


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
