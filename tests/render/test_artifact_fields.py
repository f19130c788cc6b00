"""Keys render leaves out stay out, nulls stay null: the parts of the artifact format the
example workspace does not exercise (a comment, a permission without a path, a waived
literal server value)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from converge.config.workspace import open_workspace
from converge.desired import parse_desired
from converge.render.artifacts import render_artifacts

VERCEL = """\
public:
  NEXT_PUBLIC_API_URL:
    value: https://api.journal.acme.example
    environments: [prod]
    comment: the public API
  NEXT_PUBLIC_APP_NAME:
    value: Journal
    environments: [prod]
    comment: ""
server:
  INFISICAL_CLIENT_ID:
    ref: identity/token-service@journal-prod/client-id
    environments: [prod]
  INFISICAL_CLIENT_SECRET:
    value: a-literal-that-must-not-be-written
    environments: [prod]
"""

ROLES = """\
roles:
  - name: runtime
    environment: prod
    permissions:
      - subject: secrets
        actions: [read]
  - name: ci
    environment: prod
    permissions:
      - subject: secrets
        actions: [read, describe]
        conditions: {secret_path: /ci/**}
"""


def _render(workspace: Path) -> dict[str, str]:
    (workspace / "data/platforms/vercel/journal.yaml").write_text(VERCEL)
    (workspace / "data/infisical/journal/roles.yaml").write_text(ROLES)
    return render_artifacts(open_workspace(workspace).load_project("journal"))


def test_optional_keys_are_absent_and_nullable_ones_null(workspace: Path) -> None:
    files = _render(workspace)
    variables = {v["key"]: v for v in json.loads(files["vercel-env.json"])["variables"]}
    assert variables["NEXT_PUBLIC_API_URL"]["comment"] == "the public API"
    assert "comment" not in variables["NEXT_PUBLIC_APP_NAME"]
    assert "ref" not in variables["NEXT_PUBLIC_APP_NAME"]
    assert "value" not in variables["INFISICAL_CLIENT_ID"]
    # A literal server value (refused by policy unless waived) is never written.
    assert variables["INFISICAL_CLIENT_SECRET"]["ref"] is None
    assert "value" not in variables["INFISICAL_CLIENT_SECRET"]
    assert all("a-literal-that-must-not-be-written" not in text for text in files.values())
    runtime = yaml.safe_load(files["ProjectRole_runtime_prod.yaml"])
    assert runtime["spec"]["permissions"][0]["conditions"] == {"environment": "prod"}
    assert runtime["spec"]["description"] == ""
    ci = yaml.safe_load(files["ProjectRole_ci_prod.yaml"])
    assert ci["spec"]["permissions"][0]["conditions"]["secretPath"] == "/ci/**"


def test_what_render_writes_the_engine_reads(workspace: Path) -> None:
    files = _render(workspace)
    desired = parse_desired("journal", "sha256:d", "sha256:m", files)
    assert desired.vercel is not None
    by_key = {v.key: v for v in desired.vercel.variables}
    assert by_key["NEXT_PUBLIC_API_URL"].comment == "the public API"
    assert by_key["NEXT_PUBLIC_APP_NAME"].comment is None
    assert by_key["INFISICAL_CLIENT_SECRET"].ref is None
    assert by_key["INFISICAL_CLIENT_SECRET"].value is None
    runtime = next(r for r in desired.roles if r.name == "runtime")
    assert runtime.permissions == (
        {"actions": ["read"], "conditions": {"environment": "prod"}, "inverted": False,
         "subject": "secrets"},
    )


def test_adopt_reaches_only_the_named_objects_and_is_absent_elsewhere(workspace: Path) -> None:
    project = workspace / "projects/journal/project.yaml"
    project.write_text(project.read_text() + (
        "adopt: [role/runtime-prod, identity/ci@github-prod, vercel/NEXT_PUBLIC_APP_NAME]\n"))
    files = render_artifacts(open_workspace(workspace).load_project("journal"))

    desired = parse_desired("journal", "sha256:d", "sha256:m", files)

    assert {r.slug: r.adopt for r in desired.roles} == {"runtime-prod": True, "ci-prod": False}
    assert {i.name: i.adopt for i in desired.identities} == {
        "token-service@journal-prod": False, "ci@github-prod": True}
    assert desired.vercel is not None
    assert {v.key: v.adopt for v in desired.vercel.variables} == {
        "NEXT_PUBLIC_API_URL": False, "NEXT_PUBLIC_APP_NAME": True,
        "INFISICAL_CLIENT_ID": False, "INFISICAL_CLIENT_SECRET": False}
    assert "adopt" not in yaml.safe_load(files["ProjectRole_ci_prod.yaml"])["spec"]
    assert yaml.safe_load(files["ProjectRole_runtime_prod.yaml"])["spec"]["adopt"] is True
