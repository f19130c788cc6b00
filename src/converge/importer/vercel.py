"""Vercel → ``data/platforms/vercel/<p>.yaml``: read (one list call), translate (pure).

Only ``plain`` values are ever read (Vercel returns the others as ciphertext, and
converge does not ask for them). A record becomes:

- a ``public`` entry with its value, when it is ``plain`` (a ``NEXT_PUBLIC_*`` key, or
  one converge already manages);
- a ``server`` entry with the reference converge wrote it from, recovered from the
  marker's ``ref=`` digest (``references.DigestIndex``), and its ``rot=`` counter;
  a ``placeholder/<KEY>`` reference when there is no digest to match (a record converge
  does not manage) or no candidate matches;
- a value Supabase publishes, when its marker says ``owner=supabase`` (handed to the
  Supabase import);
- nothing, with a finding, otherwise (another project's record, a branch-scoped record,
  a secret-looking public value, a non-``INFISICAL_*`` secret converge cannot reference).

Targets become environments through project.yaml's mapping: a record's targets must be
exactly the union of some environments' targets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from converge.importer.findings import Findings
from converge.importer.references import DigestIndex, placeholder
from converge.policies.secrets import public_value_problem
from converge.vendors.vercel.client import ProjectScope, VercelClient
from converge.vendors.vercel.observe import ObservedVariable, observe_variables

SYSTEM = "vercel"
OWNER = "vercel"
PUBLISHER = "supabase"
PUBLIC_PREFIX = "NEXT_PUBLIC_"
SERVER_PREFIX = "INFISICAL_"


def read_vercel(client: VercelClient, scope: ProjectScope) -> tuple[ObservedVariable, ...]:
    """Every env var of the project (one list request; values of plain ones only)."""
    return observe_variables(client, scope)


@dataclass
class VercelImport:
    public: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    server: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    adopt: list[str] = field(default_factory=list)
    published: list[ObservedVariable] = field(default_factory=list)  # owner=supabase
    records: int = 0  # records written

    def document(self) -> dict[str, Any]:
        """The Vercel file: one mapping per key, or a list when a key has several records."""
        doc: dict[str, Any] = {}
        for section, keys in (("public", self.public), ("server", self.server)):
            if keys:
                doc[section] = {key: entries[0] if len(entries) == 1 else entries
                                for key, entries in sorted(keys.items())}
        return doc


def environments_for(
    targets: Sequence[str], env_targets: Mapping[str, Sequence[str]]
) -> list[str] | None:
    """The environments whose Vercel targets together are exactly ``targets``, each
    target fed by one environment; None when no such set exists."""
    wanted = set(targets)
    chosen = [env for env, mine in env_targets.items() if mine and set(mine) <= wanted]
    fed = [t for env in chosen for t in env_targets[env]]
    if set(fed) != wanted or len(fed) != len(set(fed)):
        return None
    return sorted(chosen)


def server_type(targets: Sequence[str]) -> str:
    """What converge sends for a reference: ``sensitive``, or ``encrypted`` where Vercel
    forbids sensitive (a record targeting development)."""
    return "encrypted" if "development" in targets else "sensitive"


def subject_of(record: ObservedVariable) -> str:
    return f"{record.key} ({', '.join(record.targets)})"


class _Translator:
    def __init__(self, *, project: str, env_targets: Mapping[str, Sequence[str]],
                 references: DigestIndex, findings: Findings):
        self.project = project
        self.env_targets = env_targets
        self.references = references
        self.findings = findings
        self.out = VercelImport()

    def lost(self, record: ObservedVariable, ours: bool, why: str) -> None:
        then = ("; converge manages it, so the next plan would delete it" if ours
                else "; converge leaves it as it is")
        self.findings.skipped(SYSTEM, subject_of(record), why + then)

    def record(self, record: ObservedVariable) -> None:
        own = record.ownership
        if not record.general:
            self.findings.skipped(SYSTEM, subject_of(record), "scoped to a Git branch or a "
                                  "custom environment, which converge does not manage; "
                                  "converge leaves it as it is")
            return
        if own is not None and own.owned_by(PUBLISHER, self.project):
            self.out.published.append(record)
            return
        if own is not None and not own.owned_by(OWNER, self.project):
            self.findings.skipped(SYSTEM, subject_of(record), f"managed by converge for "
                                  f"project {own.project} (owner {own.owner}); left out")
            return
        ours = own is not None
        envs = environments_for(record.targets, self.env_targets)
        if envs is None:
            self.lost(record, ours, "its targets are not exactly those of some imported "
                      "environments (give each environment its targets with "
                      "--environment NAME=SLUG:TARGET+TARGET)")
            return
        if record.type == "plain":
            self.public(record, envs, ours)
        else:
            self.server(record, envs, ours)

    def public(self, record: ObservedVariable, envs: list[str], ours: bool) -> None:
        value = record.value or ""
        if not ours:
            if not record.key.startswith(PUBLIC_PREFIX):
                self.lost(record, ours, f"a plain variable whose key does not start with "
                          f"{PUBLIC_PREFIX}; converge keeps only public values in plain text")
                return
            problem = public_value_problem(record.key, value)
            if problem:
                self.lost(record, ours, f"its value {problem}, so it is not written to the "
                          "workspace; move it to Infisical")
                return
        entry: dict[str, Any] = {"value": value, "environments": envs}
        if record.user_comment:
            entry["comment"] = record.user_comment
        self.add(self.out.public, record, entry)

    def server(self, record: ObservedVariable, envs: list[str], ours: bool) -> None:
        own = record.ownership
        subject = subject_of(record)
        if not ours and not record.key.startswith(SERVER_PREFIX):
            self.lost(record, ours, f"its value cannot be read and only {SERVER_PREFIX}* "
                      "server variables can be written as references")
            return
        ref = self.references.recover(own.ref) if own is not None else None
        entry: dict[str, Any] = {"ref": ref or placeholder(record.key), "environments": envs}
        if own is not None and own.rot:
            entry["rotate"] = own.rot
        if ref is None:
            why = ("the reference in its marker matches none of the project's identities "
                   "and secrets" if ours else
                   "it is not managed by converge and its value cannot be read")
            then = ("" if ours else
                    f", then list vercel/{record.key} under adopt: to take it over (its "
                    "value is then sent again)")
            self.findings.placeholder(SYSTEM, subject, f"{why}; replace "
                                      f"{placeholder(record.key)} with its reference{then}")
        if ours and record.type != server_type(record.targets):
            self.findings.differs(SYSTEM, subject, f"stored as {record.type}; converge "
                                  f"writes references as {server_type(record.targets)}, so "
                                  "the next apply re-creates it")
        if ours and record.user_comment:
            self.findings.differs(SYSTEM, subject, "its comment cannot be kept (server "
                                  "variables have none in the workspace); the next apply "
                                  "removes it")
        self.add(self.out.server, record, entry)

    def add(self, section: dict[str, list[dict[str, Any]]], record: ObservedVariable,
            entry: dict[str, Any]) -> None:
        """Write ``entry``; an unmanaged public value is also listed for adoption (an
        unmanaged server value waits for its reference: see ``server``)."""
        section.setdefault(record.key, []).append(entry)
        self.out.records += 1
        if record.ownership is None and section is self.out.public:
            name = f"vercel/{record.key}"
            if name not in self.out.adopt:
                self.out.adopt.append(name)
            self.findings.adopt(SYSTEM, subject_of(record), "not managed by converge yet; "
                                "listed under adopt: so the next apply takes it over")


def translate_vercel(
    records: Sequence[ObservedVariable],
    *,
    project: str,
    env_targets: Mapping[str, Sequence[str]],
    references: DigestIndex,
    findings: Findings,
) -> VercelImport:
    """The Vercel file of converge project ``project`` for ``records`` (see module doc).
    ``env_targets`` maps each environment to its Vercel targets."""
    translator = _Translator(project=project, env_targets=env_targets,
                             references=references, findings=findings)
    for record in sorted(records, key=lambda r: (r.key, r.targets)):
        translator.record(record)
    out = translator.out
    for key in sorted(set(out.public) & set(out.server)):
        dropped = out.server.pop(key)
        out.records -= len(dropped)
        findings.skipped(SYSTEM, key, "has plain and secret records; Vercel variables of one "
                         "key are either public or server in the workspace, so the secret "
                         "ones are left out")
    return out
