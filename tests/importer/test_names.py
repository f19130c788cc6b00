"""Vendor names back into the workspace's naming rules."""

from __future__ import annotations

from converge.importer.names import (
    IdentityName,
    RoleName,
    owner_parts,
    split_identity_name,
    split_role,
    split_role_description,
)


def test_identity_names_give_name_scope_and_environment() -> None:
    envs = ["prod", "preview"]
    assert split_identity_name("token-service@journal-prod", project="journal",
                               environments=envs) == IdentityName("token-service", None, "prod")
    assert split_identity_name("ci@github-prod", project="journal",
                               environments=envs) == IdentityName("ci", "github", "prod")
    assert split_identity_name("converge-operator", project="journal", environments=envs) is None
    assert split_identity_name("x@journal-staging", project="journal",
                               environments=envs) is None
    assert split_identity_name("Bad@journal-prod", project="journal", environments=envs) is None


def test_the_longest_environment_that_fits_wins() -> None:
    found = split_identity_name("api@shop-eu-prod", project="shop", environments=["prod",
                                                                                   "eu-prod"])
    assert found == IdentityName("api", None, "eu-prod")


def test_roles_from_their_display_name_or_their_slug() -> None:
    assert split_role("runtime (prod)", "runtime-prod", environments=["prod"]) == RoleName(
        "runtime", "prod")
    assert split_role("Runtime", "runtime-prod", environments=["prod"]) == RoleName(
        "runtime", "prod")
    assert split_role("runtime (prod)", "runtime", environments=["prod"]) is None
    assert split_role("reader (preview)", "reader-preview", environments=["prod"]) is None


def test_role_descriptions_lose_converges_marker_and_name_the_owner() -> None:
    assert split_role_description("Read it [managed by converge: acme/journal]") == (
        "Read it", "acme/journal")
    assert split_role_description("[managed by converge: acme/journal]") == ("", "acme/journal")
    assert split_role_description("made by hand") == ("made by hand", None)
    assert split_role_description(None) == ("", None)
    assert owner_parts("acme/journal") == ("acme", "journal")
    assert owner_parts("acme") is None
