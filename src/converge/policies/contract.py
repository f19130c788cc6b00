"""The decision contract (DESIGN §1, §3): the policy verdict bound to the exact inputs.

``decision_id`` is the content hash of every other field, so any edit to the file is
detectable, and the input digests make a decision stale as soon as a workspace file or a
user policy changes. There is no timestamp: when a decision was made belongs in the audit
log, and the same inputs must give the same bytes on every machine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from converge.config.models import Waiver
from converge.errors import StaleArtifactError
from converge.policies.results import RuleResult
from converge.util.canonical import canonical_json, content_id

API_VERSION = "converge.dev/v1"
DECISION_FILE = "decision.json"


@dataclass(frozen=True)
class Decision:
    """A loaded (or freshly built) decision contract."""

    body: dict[str, Any]

    @property
    def decision_id(self) -> str:
        return str(self.body["decision_id"])

    @property
    def verdict(self) -> str:
        return str(self.body["verdict"])

    @property
    def project(self) -> str:
        return str(self.body["project"])

    @property
    def inputs(self) -> dict[str, str]:
        return dict(self.body["inputs"])

    @property
    def user_policies(self) -> dict[str, str]:
        return dict(self.body["policies"]["user"])

    def text(self) -> str:
        return canonical_json(self.body)


def build_decision(
    *,
    project: str,
    verdict: str,
    inputs: dict[str, str],
    builtin_version: str,
    user_policies: dict[str, str],
    results: list[RuleResult],
    waivers: tuple[Waiver, ...],
) -> Decision:
    body: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "DecisionContract",
        "project": project,
        "verdict": verdict,
        "inputs": dict(sorted(inputs.items())),
        "policies": {"builtin": builtin_version, "user": dict(sorted(user_policies.items()))},
        "results": [r.to_json() for r in sorted(results, key=RuleResult.sort_key)],
        "waivers": sorted(
            (
                {
                    "rule": w.rule,
                    "resource": w.resource,
                    "reason": w.reason,
                    "expires": w.expires.isoformat(),
                }
                for w in waivers
            ),
            key=lambda w: (w["rule"], w["resource"]),
        ),
    }
    body["decision_id"] = content_id(body)
    return Decision(body)


def load_decision(out_dir: Path, project: str) -> Decision:
    """Read ``.out/<p>/decision.json`` and check that it was not edited by hand."""
    path = out_dir / DECISION_FILE
    rel = f"{out_dir.name}/{DECISION_FILE}"
    if not path.is_file():
        raise StaleArtifactError(
            f"no decision for {project}: {rel} is missing",
            hint=f"run make decision PROJECT={project}",
        )
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        claimed = body.pop("decision_id")
    except (ValueError, KeyError, AttributeError, TypeError):
        raise StaleArtifactError(
            f"decision for {project} is unreadable ({rel})",
            hint=f"run make decision PROJECT={project}",
        ) from None
    if claimed != content_id(body):
        raise StaleArtifactError(
            f"decision for {project} was edited by hand: "
            "its decision_id does not match its content",
            hint=f"run make decision PROJECT={project}",
        )
    body["decision_id"] = claimed
    return Decision(body)


def check_current(
    decision: Decision, *, inputs: dict[str, str], user_policies: dict[str, str]
) -> None:
    """Refuse a decision whose inputs or user policies changed since it was made."""
    hint = f"run make decision PROJECT={decision.project}"
    for recorded, current in ((decision.inputs, inputs), (decision.user_policies, user_policies)):
        for path in sorted(set(recorded) | set(current)):
            if recorded.get(path) != current.get(path):
                what = (
                    "changed"
                    if path in recorded and path in current
                    else ("was added" if path in current else "was removed")
                )
                raise StaleArtifactError(
                    f"decision is stale: {path} {what}; run make decision", hint=hint
                )
