"""References recovered from the digest in converge's Vercel marker."""

from __future__ import annotations

from converge.importer.references import (
    DigestIndex,
    candidate_references,
    placeholder,
    secret_reference,
)
from converge.vendors.infisical.wire import SecretName
from converge.vendors.vercel.ownership import ref_digest


def test_candidates_are_the_identities_and_the_secrets_listed_by_name() -> None:
    found = candidate_references(
        identities=["token-service@journal-prod"],
        secrets={"prod": [SecretName(secretKey="GITHUB_OAUTH_SECRET", secretPath="/auth"),
                          SecretName(secretKey="ROOT_KEY", secretPath="/"),
                          SecretName(secretKey="bad name", secretPath="/")]},
    )
    assert found == [
        "identity/token-service@journal-prod/client-id",
        "identity/token-service@journal-prod/client-secret",
        "secret/prod/ROOT_KEY",
        "secret/prod/auth/GITHUB_OAUTH_SECRET",
    ]


def test_a_digest_gives_back_its_one_reference() -> None:
    refs = ["secret/prod/auth/GITHUB_OAUTH_SECRET", "identity/a@b-prod/client-id"]
    index = DigestIndex(refs)
    assert index.recover(ref_digest(refs[0])) == refs[0]
    assert index.recover("000000000000") is None
    assert index.recover("-") is None


def test_secret_references_follow_the_grammar_and_placeholders_never_do() -> None:
    assert secret_reference("prod", "/a/b/", "X") == "secret/prod/a/b/X"
    assert secret_reference("prod", "/", "X") == "secret/prod/X"
    assert secret_reference("prod", "/a b", "X") is None
    assert placeholder("INFISICAL_KEY") == "placeholder/INFISICAL_KEY"
