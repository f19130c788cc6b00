"""The decision contract (architecture §1, §3): the policy verdict bound to the exact inputs.

``decision_id`` is the content hash of every other field, so a careless edit to the file
is detectable, and the input digests make a decision stale as soon as a workspace file or
a user policy changes. It is a record, not a credential: anyone can recompute the hash,
so nothing trusts a verdict read from the file (``engine.trust`` re-evaluates). There is
no timestamp: when a decision was made belongs in the audit log, and the same inputs must
give the same bytes on every machine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from converge.artifacts.contract import (
    DecisionBody,
    DecisionContract,
    DecisionResult,
    DecisionWaiver,
    PolicyVersions,
)
from converge.artifacts.wire import API_VERSION
from converge.config.models import Waiver
from converge.errors import StaleArtifactError
from converge.policies.results import RuleResult
from converge.util.canonical import content_id

DECISION_FILE = "decision.json"


@dataclass(frozen=True)
class Decision:
    """A loaded (or freshly built) decision contract."""

    contract: DecisionContract

    @property
    def body(self) -> dict[str, Any]:
        """The contract as written to decision.json (what ``decide --output json`` reports)."""
        return self.contract.to_wire()

    @property
    def decision_id(self) -> str:
        return self.contract.decision_id

    @property
    def verdict(self) -> str:
        return self.contract.verdict

    @property
    def project(self) -> str:
        return self.contract.project

    @property
    def inputs(self) -> dict[str, str]:
        return dict(self.contract.inputs)

    @property
    def user_policies(self) -> dict[str, str]:
        return dict(self.contract.policies.user)

    def text(self) -> str:
        return self.contract.to_json()


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
    body = DecisionBody(
        apiVersion=API_VERSION,
        kind="DecisionContract",
        project=project,
        verdict=verdict,  # type: ignore[arg-type]
        inputs=dict(sorted(inputs.items())),
        policies=PolicyVersions(builtin=builtin_version, user=dict(sorted(user_policies.items()))),
        results=[_result(r) for r in sorted(results, key=RuleResult.sort_key)],
        waivers=sorted(
            (
                DecisionWaiver(
                    rule=w.rule, resource=w.resource, reason=w.reason, expires=w.expires.isoformat()
                )
                for w in waivers
            ),
            key=lambda w: (w.rule, w.resource),
        ),
    )
    wire = body.to_wire()
    return Decision(DecisionContract.model_validate({**wire, "decision_id": content_id(wire)}))


def _result(result: RuleResult) -> DecisionResult:
    return DecisionResult(
        rule=result.rule,
        severity=result.severity.value,
        status=result.status.value,
        resource=result.resource,
        message=result.message,
        location=str(result.location) if result.location else None,
    )


def load_decision(out_dir: Path, project: str) -> Decision:
    """Read ``.out/<p>/decision.json`` and check that it was not edited by hand."""
    path = out_dir / DECISION_FILE
    rel = f"{out_dir.name}/{DECISION_FILE}"
    if not path.is_file():
        raise StaleArtifactError(
            f"no decision for {project}: {rel} is missing",
            hint=f"run make decision PROJECT={project}",
        )
    return parse_decision(path.read_bytes(), project, rel)


def parse_decision(data: bytes, project: str, rel: str) -> Decision:
    """The decision in ``data`` (the file ``rel``), checked for edits by hand.

    The content hash is checked on the file as read, before the model: any edit at all
    (a changed value, an added key) reads as edited by hand; a file whose hash holds but
    whose shape is not a decision's is unreadable. A hash that holds proves nothing about
    the verdict (anyone can recompute it): ``engine.trust`` re-evaluates the policies."""
    hint = f"run make decision PROJECT={project}"
    unreadable = StaleArtifactError(f"decision for {project} is unreadable ({rel})", hint=hint)
    try:
        body = json.loads(data.decode("utf-8"))
        claimed = body.pop("decision_id")
    except (ValueError, KeyError, AttributeError, TypeError):
        raise unreadable from None
    if claimed != content_id(body):
        raise StaleArtifactError(
            f"decision for {project} was edited by hand: "
            "its decision_id does not match its content",
            hint=hint,
        )
    try:
        contract = DecisionContract.model_validate({**body, "decision_id": claimed})
    except ValidationError:
        raise unreadable from None
    return Decision(contract)


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
