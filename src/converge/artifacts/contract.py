"""``manifest.json`` and ``decision.json``: the documents that bind artifacts to a decision
and a decision to its inputs (architecture §1, §3).

Each is signed by a content hash of its other fields (``digest``, ``decision_id``), so each
comes as an unsigned body and the signed document that adds the hash.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from converge.artifacts.wire import CONTENT_ID_PATTERN, SHA256_HEX_PATTERN, ApiVersion, Wire

ContentId = Annotated[str, Field(pattern=CONTENT_ID_PATTERN)]
Sha256Hex = Annotated[str, Field(pattern=SHA256_HEX_PATTERN)]


class ManifestBody(Wire):
    api_version: ApiVersion = Field(alias="apiVersion")
    kind: Literal["Manifest"]
    project: str
    decision_id: ContentId
    artifacts: dict[str, Sha256Hex]  # file name -> sha256 of its bytes


class Manifest(ManifestBody):
    digest: ContentId  # content id of every other field


class PolicyVersions(Wire):
    builtin: str
    user: dict[str, Sha256Hex]  # workspace-relative policy file -> sha256


class DecisionResult(Wire):
    """One rule's verdict on one resource (policies/results.py RuleResult)."""

    rule: str
    severity: Literal["error", "warning"]
    status: Literal["pass", "fail", "warn", "waived"]
    resource: str
    message: str
    location: str | None  # file:line:column


class DecisionWaiver(Wire):
    rule: str
    resource: str
    reason: str
    expires: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]  # ISO date


class DecisionBody(Wire):
    api_version: ApiVersion = Field(alias="apiVersion")
    kind: Literal["DecisionContract"]
    project: str
    verdict: Literal["allow", "deny"]
    inputs: dict[str, Sha256Hex]  # workspace-relative input file -> sha256
    policies: PolicyVersions
    results: list[DecisionResult]
    waivers: list[DecisionWaiver]


class DecisionContract(DecisionBody):
    decision_id: ContentId  # content id of every other field
