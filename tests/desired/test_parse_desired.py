"""parse_desired reads each artifact through the model render wrote it with: the records
the vendors get hold exactly what the files say, and a file that does not fit its model
(a wrong type, an unknown or missing key) is refused as malformed, naming the file."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from converge.desired import parse_desired
from converge.errors import StaleArtifactError
from tests.conftest import EXAMPLE_WORKSPACE

OUT = EXAMPLE_WORKSPACE / ".out"
CONTRACT_FILES = ("decision.json", "manifest.json")


def _texts(project: str) -> dict[str, str]:
    return {
        p.name: p.read_text(encoding="utf-8")
        for p in sorted((OUT / project).iterdir())
        if p.name not in CONTRACT_FILES
    }


def _doc(project: str, name: str) -> Any:
    text = (OUT / project / name).read_text(encoding="utf-8")
    return yaml.safe_load(text) if name.endswith(".yaml") else json.loads(text)


def test_the_records_hold_what_the_files_say() -> None:
    desired = parse_desired("journal", "sha256:d", "sha256:m", _texts("journal"))
    role = next(r for r in desired.roles if r.name == "runtime")
    role_doc = _doc("journal", "ProjectRole_runtime_prod.yaml")
    assert role.slug == role_doc["spec"]["slug"] == "runtime-prod"
    assert role.display == "runtime (prod)"
    assert list(role.permissions) == role_doc["spec"]["permissions"]
    assert role.index == 0
    identity = next(i for i in desired.identities if i.name == "ci@github-prod")
    identity_doc = _doc("journal", "identity_ci@github-prod.yaml")
    assert identity.universal_auth == identity_doc["spec"]["auth"]["universal"]
    assert identity.role_slugs == ("ci-prod",)
    assert identity.index == 1
    assert [b.role_slug for b in desired.bindings] == ["ci-prod", "runtime-prod"]
    assert desired.vercel is not None
    assert desired.vercel.team == "acme"
    assert desired.vercel.project == "journal-web"
    by_key = {v.key: v for v in desired.vercel.variables}
    assert by_key["INFISICAL_CLIENT_ID"].ref == "identity/token-service@journal-prod/client-id"
    assert by_key["INFISICAL_CLIENT_ID"].value is None
    assert by_key["NEXT_PUBLIC_APP_NAME"].value == "Journal"
    assert by_key["NEXT_PUBLIC_APP_NAME"].ref is None
    assert by_key["NEXT_PUBLIC_APP_NAME"].targets == ("production",)
    assert desired.supabase is not None
    supabase_doc = _doc("journal", "supabase-config.json")
    assert desired.supabase.auth == supabase_doc["auth"]
    assert list(desired.supabase.publish) == supabase_doc["publish"]
    assert desired.supabase.publish_to == ("acme", "journal-web")
    assert desired.supabase.references is not None
    assert desired.supabase.references.environments == {"prod": "prod"}


def test_artifacts_rendered_before_index_references_and_publish_to_still_read() -> None:
    """Rollback re-applies old revisions: what older renders left out reads as before."""
    texts = _texts("journal")
    role = _doc("journal", "ProjectRole_ci_prod.yaml")
    del role["metadata"]["index"]
    texts["ProjectRole_ci_prod.yaml"] = yaml.safe_dump(role)
    supabase = _doc("journal", "supabase-config.json")
    del supabase["references"], supabase["publish_to"]
    texts["supabase-config.json"] = json.dumps(supabase)
    desired = parse_desired("journal", "sha256:d", "sha256:m", texts)
    assert next(r for r in desired.roles if r.name == "ci").index == 0
    assert desired.supabase is not None
    assert desired.supabase.references is None
    assert desired.supabase.publish_to is None


Mutation = Callable[[Any], None]


def _set(path: tuple[str | int, ...], value: Any) -> Mutation:
    def mutate(doc: Any) -> None:
        for key in path[:-1]:
            doc = doc[key]
        doc[path[-1]] = value

    return mutate


def _delete(path: tuple[str | int, ...]) -> Mutation:
    def mutate(doc: Any) -> None:
        for key in path[:-1]:
            doc = doc[key]
        del doc[path[-1]]

    return mutate


IDENTITY = "identity_token-service@journal-prod.yaml"
ROLE = "ProjectRole_runtime_prod.yaml"
BINDING = "binding_token-service-runtime-binding.yaml"
UA = ("spec", "auth", "universal")

MALFORMED: dict[str, tuple[str, Mutation]] = {
    "a string where a TTL belongs": (IDENTITY, _set((*UA, "accessTokenTTL"), "3600")),
    "true where a number belongs": (IDENTITY, _set((*UA, "accessTokenNumUsesLimit"), True)),
    "a negative TTL": (IDENTITY, _set((*UA, "accessTokenMaxTTL"), -1)),
    "a string where a list belongs": (IDENTITY, _set((*UA, "clientSecretTrustedIps"), "0/0")),
    "true for the declaration index": (ROLE, _set(("metadata", "index"), True)),
    "a number where a name belongs": (ROLE, _set(("spec", "slug"), 7)),
    "a string where a boolean belongs": (ROLE, _set(("spec", "permissions", 0, "inverted"), "no")),
    "a snake_case stand-in for a wire name": (
        ROLE,
        lambda doc: doc["spec"].update(display_name=doc["spec"].pop("displayName")),
    ),
    "an unknown key in spec": (BINDING, _set(("spec", "roleslug"), "runtime-prod")),
    "a missing key": (BINDING, _delete(("spec", "roleSlug"))),
    "an unknown kind": (BINDING, _set(("kind", ), "IdentityBindingV2")),
    "another apiVersion": (BINDING, _set(("apiVersion",), "converge.dev/v2")),
    "true where rotate's number belongs": (
        "vercel-env.json",
        _set(("variables", 0, "rotate"), True),
    ),
    "a public variable with a reference": (
        "vercel-env.json",
        _set(("variables", 3, "ref"), "secret/prod/x"),
    ),
    "a server variable of another type": (
        "vercel-env.json",
        _set(("variables", 0, "type"), "plain"),
    ),
    "a string where jwt_exp's number belongs": (
        "supabase-config.json",
        _set(("auth", "jwt_exp"), "3600"),
    ),
    "a number where rls.enforce's boolean belongs": (
        "supabase-config.json",
        _set(("database", "rls", "enforce"), 1),
    ),
    "an unknown auth setting": (
        "supabase-config.json",
        _set(("auth", "external_email_enabled"), True),
    ),
    "a publish source that is not a project value": (
        "supabase-config.json",
        _set(("publish", 0, "from"), "db_password"),
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_an_artifact_that_does_not_fit_its_model_is_malformed(case: str) -> None:
    name, mutate = MALFORMED[case]
    doc = _doc("journal", name)
    mutate(doc)
    texts = _texts("journal")
    texts[name] = yaml.safe_dump(doc) if name.endswith(".yaml") else json.dumps(doc)
    with pytest.raises(StaleArtifactError) as caught:
        parse_desired("journal", "sha256:d", "sha256:m", texts)
    assert caught.value.message == f"artifact journal/{name} is malformed"
    assert caught.value.hint == "run make render PROJECT=journal"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (ROLE, "kind: [ProjectRole\n"),
        (ROLE, "just a string\n"),
        (ROLE, ""),
        ("vercel-env.json", '{"apiVersion": "converge.dev/v1",'),
        ("supabase-config.json", "[]"),
    ],
)
def test_text_that_is_not_an_artifact_is_malformed(name: str, text: str) -> None:
    texts = _texts("journal")
    texts[name] = text
    with pytest.raises(StaleArtifactError, match=f"artifact journal/{name} is malformed"):
        parse_desired("journal", "sha256:d", "sha256:m", texts)
