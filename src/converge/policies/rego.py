"""User policies: ``policies/*.rego`` evaluated conftest-style by regopy.

Why regopy (a Rego v1 interpreter) rather than shelling out to opa/conftest: no extra
binary for users to install, and the same input document and result shape as the
built-in rules. Each file declares a package; the ``deny`` and ``warn`` sets of that
package become results with rule id ``rego.<package>.deny|warn``. A set element is a
message string, or an object with ``msg`` and optionally ``resource`` (default
``project/<name>``). A policy that does not compile, fails while evaluating, or does not
answer within the time limit is a ConfigError naming the .rego file and, when known, the
line.

regopy itself runs in a worker process (``rego_engine``, ``rego_worker``): this module
never imports it, so a workspace without user policies never loads it, and the policies
are compiled once per command, not once per project.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from converge.config.workspace import ProjectInputs
from converge.errors import ConfigError, Location
from converge.policies import rego_engine
from converge.policies.rego_engine import DEFAULT_TIMEOUT, Module, RegoLoadError
from converge.policies.results import RuleResult, Severity, Status

RULES = {"deny": (Status.FAIL, Severity.ERROR), "warn": (Status.WARN, Severity.WARNING)}
_PACKAGE = re.compile(r"^\s*package\s+([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*$",
                      re.MULTILINE)
_ERROR = re.compile(r"\(error \d+:(?P<file>[^|\n]*)\|(?P<offset>\d+)\|\d+")
_ERRORMSG = re.compile(r"\(errormsg (?P<length>\d+):")
Answer = TypeVar("Answer")


@dataclass(frozen=True)
class RegoPolicy:
    """One policy file: its workspace-relative name, package and source text."""

    rel: str
    package: str
    source: str

    def rule_location(self, rule: str) -> Location:
        """Where ``rule`` (deny/warn) is first defined in the file, else the file itself."""
        match = re.search(rf"^({rule})\b", self.source, re.MULTILINE)
        if match is None:
            return Location(self.rel)
        return _offset_location(self.rel, self.source, match.start())


def policy_digests(files: Iterable[Path], *, workspace_root: Path | None = None) -> dict[str, str]:
    """Path (workspace-relative when ``workspace_root`` is given) -> sha256 of the file bytes."""
    return {
        _relative(path, workspace_root): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(files)
    }


def load_policies(files: Iterable[Path], *, workspace_root: Path) -> list[RegoPolicy]:
    """Read every file and find its package; the first unreadable one, or one without a
    package, raises a located ConfigError (compiling is the worker's: ``evaluate_rego``)."""
    policies = []
    for path in sorted(files):
        rel = _relative(path, workspace_root)
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise ConfigError("policy file cannot be read as UTF-8 text",
                              location=Location(rel)) from None
        match = _PACKAGE.search(source)
        if match is None:
            raise ConfigError("Rego syntax error: the file declares no package",
                              location=Location(rel, 1, 1))
        policies.append(RegoPolicy(rel=rel, package=match.group(1), source=source))
    return policies


def build_input(inputs: ProjectInputs) -> dict[str, Any]:
    """The Rego input document of architecture §4, from the files as loaded (not the models)."""

    def items(kind: str, key: str) -> list[Any]:
        raw = inputs.raw(kind)
        value = raw.get(key) if isinstance(raw, dict) else None
        return list(value) if isinstance(value, list) else []

    return {
        "project": inputs.raw("project"),
        "identities": items("identities", "identities"),
        "roles": items("roles", "roles"),
        "vercel": inputs.raw("vercel"),
        "supabase": inputs.raw("supabase"),
        "waivers": items("waivers", "waivers"),
    }


def evaluate_rego(
    inputs: ProjectInputs,
    *,
    policy_files: Iterable[Path],
    workspace_root: Path,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[RuleResult]:
    """The deny/warn results of every user policy on ``inputs``; the worker must answer
    each query within ``timeout`` seconds."""
    policies = load_policies(policy_files, workspace_root=workspace_root)
    if not policies:
        return []
    rules = _rules(policies)
    engine = _engine(policies, rules)
    document = json.loads(json.dumps(build_input(inputs), default=str))
    results: list[RuleResult] = []
    with engine.lock:  # one project's input and queries, not interleaved with another's
        first = rules[0][2] if rules else Location(policies[0].rel)
        _answer(partial(engine.set_input, document, timeout=timeout), timeout,
                "the input document", first)
        for package, rule, where in rules:
            rule_id = f"rego.{package}.{rule}"
            query = f"data.{package}.{rule}"
            entrypoint = _entrypoint(package, rule)
            ok, text = _answer(partial(engine.query, entrypoint, timeout=timeout),
                               timeout, query, where)
            status, severity = RULES[rule]
            found = _elements(_parse(ok, text, query, where), rule_id, where)
            for message, resource in found:
                results.append(RuleResult(
                    rule=rule_id, severity=severity, status=status,
                    resource=resource or f"project/{inputs.name}", message=message,
                    location=where,
                ))
            if not found:
                results.append(RuleResult(
                    rule=rule_id, severity=severity, status=Status.PASS,
                    resource=f"project/{inputs.name}", message=f"{rule_id} found nothing",
                    location=where,
                ))
    return results


def _rules(policies: list[RegoPolicy]) -> list[tuple[str, str, Location]]:
    """(package, rule, where it is first defined) of every deny/warn rule, in the order
    results are produced: packages sorted, deny before warn."""
    found = []
    for package in sorted({p.package for p in policies}):
        files = [p for p in policies if p.package == package]
        for rule in RULES:
            defined = [p for p in files if p.rule_location(rule).line]
            if defined:
                found.append((package, rule, defined[0].rule_location(rule)))
    return found


def _entrypoint(package: str, rule: str) -> str:
    return f"{package.replace('.', '/')}/{rule}"


def _engine(policies: list[RegoPolicy],
            rules: list[tuple[str, str, Location]]) -> rego_engine.RegoEngine:
    """The worker with these policies compiled; a compile error is a located ConfigError
    naming the file (and the line, when the interpreter gives one)."""
    modules = [Module(p.rel, p.source) for p in policies]
    folder = PurePosixPath(policies[0].rel).parent.as_posix()
    try:
        return rego_engine.engine_for(modules, [_entrypoint(p, r) for p, r, _ in rules],
                                      policies_dir=folder)
    except RegoLoadError as exc:
        by_rel = {p.rel: p for p in policies}
        culprit = by_rel.get(exc.module or "", policies[0])
        raise _syntax_error(exc.text, culprit, by_rel) from None


def _answer(call: Callable[[], Answer], timeout: float, query: str, where: Location) -> Answer:
    try:
        return call()
    except rego_engine.WorkerTimeout:
        raise rego_engine.timed_out(timeout, query, where) from None
    except rego_engine.WorkerStopped as exc:
        raise rego_engine.stopped(exc.returncode, query, where) from None


def _parse(ok: bool, text: str, query: str, where: Location) -> Any:
    """The value of ``query`` in the interpreter's raw answer (regopy's Output wrapper
    cannot parse evaluation errors, so the worker sends the raw text)."""
    if not ok or text.lstrip().startswith("(error"):
        raise ConfigError(f"Rego policy failed while evaluating {query}: "
                          f"{_error_message(text) if ok else 'evaluation error'}",
                          location=where)
    if text == "undefined":
        return None
    data = json.loads(text)
    answer = data[0] if isinstance(data, list) and data else data
    expressions = answer.get("expressions", []) if isinstance(answer, dict) else []
    return expressions[0] if expressions else None


def _syntax_error(text: str, policy: RegoPolicy, by_rel: dict[str, RegoPolicy]) -> ConfigError:
    location = Location(policy.rel)
    match = _ERROR.search(text)
    if match and match["file"] in by_rel:
        culprit = by_rel[match["file"]]
        location = _offset_location(culprit.rel, culprit.source, int(match["offset"]))
    return ConfigError(f"Rego syntax error: {_error_message(text)}", location=location,
                       hint="user policies are Rego v1: 'deny contains msg if { ... }'")


def _error_message(text: str) -> str:
    match = _ERRORMSG.search(text)
    if match is None:
        return "the policy does not compile"
    start = match.end()
    return text[start:start + int(match["length"])].strip() or "the policy does not compile"


def _elements(value: Any, rule_id: str, where: Location) -> list[tuple[str, str | None]]:
    """conftest's result shapes: a set of strings or of {msg, resource} objects."""
    if value is None or value is False:
        return []
    if value is True:
        return [(f"{rule_id} is true", None)]
    if not isinstance(value, list):
        raise ConfigError(f"{rule_id} must be a set: write 'deny contains msg if {{ ... }}' "
                          "(Rego v1)", location=where)
    found: list[tuple[str, str | None]] = []
    for item in value:
        if isinstance(item, dict):
            message = str(item.get("msg", json.dumps(item, sort_keys=True)))
            resource = item.get("resource")
            found.append((message, str(resource) if resource is not None else None))
        else:
            found.append((item if isinstance(item, str) else json.dumps(item), None))
    return sorted(found, key=lambda f: (f[0], f[1] or ""))


def _offset_location(rel: str, source: str, offset: int) -> Location:
    encoded = source.encode("utf-8")[:offset].decode("utf-8", errors="ignore")
    line = encoded.count("\n") + 1
    column = len(encoded) - (encoded.rfind("\n") + 1) + 1
    return Location(rel, line, column)


def _relative(path: Path, root: Path | None) -> str:
    if root is None:
        return path.as_posix()
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.name
