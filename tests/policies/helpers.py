"""Helpers for policy tests: edit one file of a workspace copy, evaluate, pick results."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

from converge.config.workspace import ProjectInputs, open_workspace
from converge.policies.builtin import evaluate_builtin
from converge.policies.evaluate import PolicyReport, evaluate_policies
from converge.policies.results import RuleResult

TODAY = dt.date(2026, 11, 26)


def write(root: Path, rel: str, *parts: str) -> None:
    """Replace ``rel`` with ``parts`` joined, each dedented (line numbers read off the test)."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(textwrap.dedent(p).strip("\n ") + "\n" for p in parts)
    path.write_text(text, encoding="utf-8")


def load(root: Path, project: str) -> ProjectInputs:
    return open_workspace(root).load_project(project)


def builtin(root: Path, project: str, rule: str) -> list[RuleResult]:
    """The built-in results of ``rule`` for ``project``, sorted."""
    results = evaluate_builtin(load(root, project), today=TODAY)
    return sorted((r for r in results if r.rule == rule), key=RuleResult.sort_key)


def report(root: Path, project: str, *, today: dt.date = TODAY) -> PolicyReport:
    ws = open_workspace(root)
    return evaluate_policies(ws.load_project(project), policy_files=ws.policy_files(),
                             workspace_root=ws.root, today=today)


def brief(results: list[RuleResult]) -> list[tuple[str, str, str]]:
    """(status, resource, location) of each result: what the tests compare."""
    return [(r.status.value, r.resource, str(r.location)) for r in results]


def failing(results: list[RuleResult]) -> list[tuple[str, str, str]]:
    return [b for b in brief(results) if b[0] != "pass"]
