"""Role permissions Infisical would refuse or silently change are refused at validate time,
at the rule's line: actions a subject does not take, ``inverted`` or a ``secret_path``
condition where the service drops them, and a relative ``secret_path``."""

from __future__ import annotations

from pathlib import Path

import pytest

from converge.errors import ConvergeError
from tests.policies.helpers import load, write

ROLES = "data/infisical/journal/roles.yaml"


def _refusal(workspace: Path, permission: str) -> str:
    write(workspace, ROLES, f"""
        roles:
          - name: runtime
            environment: prod
            permissions:
              - {permission}
        """)
    with pytest.raises(ConvergeError) as caught:
        load(workspace, "journal")
    return str(caught.value)


@pytest.mark.parametrize(("permission", "says"), [
    ("{subject: project, actions: [read]}",
     "takes only edit, delete on project, not read"),
    ("{subject: kms, actions: [read, edit]}", "takes only edit on kms, not read"),
    ("{subject: audit-logs, actions: [delete]}", "takes only describe, read on audit-logs"),
    ("{subject: role, actions: [read], inverted: true}",
     "does not take inverted rules on role"),
    ("{subject: member, actions: [read], conditions: {secret_path: /ci/**}}",
     "takes no secret_path condition on member"),
    ("{subject: secrets, actions: [read], conditions: {secret_path: ci/**}}",
     "secret_path must start with '/'"),
])
def test_a_rule_infisical_would_refuse_or_change_is_a_located_error(
    workspace: Path, permission: str, says: str
) -> None:
    message = _refusal(workspace, permission)
    assert message.startswith(f"{ROLES}:5:")  # the rule's line
    assert says in message


@pytest.mark.parametrize("permission", [
    "{subject: project, actions: [edit]}",
    "{subject: secrets, actions: [read], inverted: true, conditions: {secret_path: /ci/**}}",
    "{subject: identity, actions: [read], inverted: true}",
    "{subject: dynamic-secrets, actions: [read], conditions: {secret_path: /db}}",
])
def test_rules_infisical_takes_load(workspace: Path, permission: str) -> None:
    write(workspace, ROLES, f"""
        roles:
          - name: runtime
            environment: prod
            permissions:
              - {permission}
        """)
    assert load(workspace, "journal").roles[0].permissions[0].subject
