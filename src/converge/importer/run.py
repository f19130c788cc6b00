"""``import_project``: read what an ``ImportRequest`` names, write the project's files.

Order: refuse to replace existing files (before any request) → read Infisical → settle
the environments and the organisation → list the Infisical secrets by name → read
Vercel → read Supabase (and recover provider secret references, recognise published
values) → translate (pure) → render and check each file → write → validate the project as
``converge validate`` does (its problems are reported, not raised: a placeholder is
meant to stop ``validate`` until someone fills it in).

Observe only: every request is a read (lists, gets, the read-only SQL endpoint and, for
client credentials, Infisical's login). Nothing is written to a vendor, to the journal or
to ``.out/``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from converge.config.models import SLUG_PATTERN
from converge.config.workspace import check_project_name
from converge.engine.clients import VendorClients
from converge.engine.context import RunContext
from converge.engine.pipeline import validate_project
from converge.errors import ConfigError, ConfigErrors, ConvergeError, VendorAuthError
from converge.importer.files import refuse_overwrite, render_documents, write_documents
from converge.importer.findings import TO_REVIEW, Finding, Findings
from converge.importer.infisical import InfisicalSnapshot, read_infisical, translate_infisical
from converge.importer.names import owner_parts
from converge.importer.references import DigestIndex, candidate_references, secret_reference
from converge.importer.request import ImportRequest
from converge.importer.supabase import (
    ProjectRead,
    provider_secrets,
    read_project,
    recover_provider_secret,
    translate_supabase,
)
from converge.importer.vercel import read_vercel, translate_vercel
from converge.vendors.infisical.resolver import InfisicalResolver
from converge.vendors.infisical.wire import SecretName
from converge.vendors.supabase.observe import read_anon_key
from converge.vendors.supabase.reconciler import default_project_url
from converge.vendors.vercel.client import ProjectScope

# Vercel targets an environment feeds when --environment does not say.
CONVENTIONAL_TARGETS: Mapping[str, tuple[str, ...]] = {
    "prod": ("production",), "production": ("production",),
    "preview": ("preview",), "staging": ("preview",),
    "dev": ("development",), "development": ("development",),
}


@dataclass(frozen=True)
class Environment:
    """One imported environment, settled: where it lives in each vendor."""

    name: str
    infisical: str | None
    vercel: tuple[str, ...]
    supabase: str | None  # the ref without a region
    regions: tuple[tuple[str, str], ...]  # (region, ref)

    def refs(self) -> list[str]:
        return ([self.supabase] if self.supabase else []) + [ref for _, ref in self.regions]


@dataclass(frozen=True)
class ImportResult:
    """What one import did: files written and removed, findings, adoptions, the problems
    ``validate`` still sees, and how many requests it took."""

    project: str
    sources: tuple[str, ...]
    written: tuple[str, ...]
    removed: tuple[str, ...]
    findings: tuple[Finding, ...]
    adopt: tuple[str, ...]
    counts: Mapping[str, int]
    problems: tuple[str, ...]
    requests: int

    @property
    def to_review(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.kind in TO_REVIEW)

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "sources": list(self.sources),
            "written": list(self.written),
            "removed": list(self.removed),
            "counts": dict(self.counts),
            "adopt": list(self.adopt),
            "findings": [f.to_json() for f in self.findings],
            "problems": list(self.problems),
            "requests": self.requests,
        }


def resolve_environments(
    request: ImportRequest, snapshot: InfisicalSnapshot | None, findings: Findings
) -> tuple[Environment, ...]:
    """Each ``--environment`` with what it left out inferred: its Infisical slug (the
    same name, else the one its roles' rules name), its Vercel targets (by name:
    ``prod`` → production, ``preview``/``staging`` → preview, ``dev`` → development)."""
    available = snapshot.environment_slugs() if snapshot else ()
    hints = snapshot.slug_hints() if snapshot else {}
    settled: list[Environment] = []
    for spec in request.environments:
        slug: str | None = None
        if snapshot is not None:
            if spec.infisical is not None:
                slug = spec.infisical or None
                if slug and slug not in available:
                    raise ConvergeError(
                        f"Infisical project {request.infisical_project} has no environment "
                        f"{slug!r} (it has {', '.join(available) or 'none'})",
                        hint=f"fix --environment {spec.name}={slug}")
            elif spec.name in available:
                slug = spec.name
            elif len(hints.get(spec.name, ())) == 1:
                slug = next(iter(hints[spec.name]))
            else:
                findings.skipped("infisical", f"environment {spec.name}", "no Infisical "
                                 "environment has that slug and no role names one for it, so "
                                 "its roles and identities are left out; pass --environment "
                                 f"{spec.name}=SLUG")
        targets: tuple[str, ...] = ()
        if request.vercel_project:
            targets = (spec.vercel if spec.vercel is not None
                       else CONVENTIONAL_TARGETS.get(spec.name, ()))
        refs = [s for s in request.supabase_refs if s.environment == spec.name]
        settled.append(Environment(
            name=spec.name, infisical=slug, vercel=tuple(sorted(targets)),
            supabase=next((s.ref for s in refs if s.region is None), None),
            regions=tuple(sorted((s.region, s.ref) for s in refs if s.region is not None)),
        ))
    return tuple(settled)


def resolve_organization(request: ImportRequest, snapshot: InfisicalSnapshot | None) -> str:
    """``--organization``, else the one organisation converge's markers name for this
    project; refused when neither says (Infisical and Supabase targets need one)."""
    if request.organization is not None:
        if not re.fullmatch(SLUG_PATTERN, request.organization):
            raise ConvergeError(f"--organization {request.organization!r} is not a slug "
                                "(lower-case letters and digits joined by '-')")
        return request.organization
    found = sorted({parts[0] for o in (snapshot.owners() if snapshot else ())
                    if (parts := owner_parts(o)) and parts[1] == request.project})
    if len(found) == 1:
        return found[0]
    if not (request.infisical_project or request.supabase_refs):
        return ""
    raise ConvergeError(
        f"cannot tell the organisation of {request.project}: "
        + ("converge's markers name " + ", ".join(found) if found
           else "nothing converge manages names one"),
        hint="pass --organization ORG (the slug converge writes in its ownership markers, "
        "e.g. acme)")


def _project_document(
    request: ImportRequest, environments: Sequence[Environment], organization: str,
    adopt: Sequence[str],
) -> dict[str, Any]:
    targets: dict[str, Any] = {}
    if request.infisical_project:
        targets["infisical"] = {"organization": organization,
                                "project": request.infisical_project}
    if request.vercel_project:
        vercel: dict[str, Any] = {"project": request.vercel_project}
        if request.vercel_team:
            vercel = {"team": request.vercel_team, **vercel}
        targets["vercel"] = vercel
    if request.supabase_refs:
        targets["supabase"] = {"organization": organization}
    envs: dict[str, Any] = {}
    for env in environments:
        entry: dict[str, Any] = {}
        if env.infisical:
            entry["infisical"] = env.infisical
        if env.vercel:
            entry["vercel"] = list(env.vercel)
        if env.supabase:
            entry["supabase"] = env.supabase
        envs[env.name] = entry
    doc: dict[str, Any] = {"name": request.project, "targets": targets, "environments": envs}
    regions: dict[str, Any] = {}
    for env in environments:
        for region, ref in env.regions:
            regions.setdefault(region, {"environments": {}})["environments"][env.name] = {
                "supabase": ref}
    if regions:
        doc["regions"] = dict(sorted(regions.items()))
    if adopt:
        doc["adopt"] = list(adopt)
    return doc


def _secret_names(
    clients: VendorClients, snapshot: InfisicalSnapshot, environments: Sequence[Environment]
) -> dict[str, list[SecretName]]:
    """converge environment → the secrets of its Infisical environment, by name only."""
    client = clients.infisical()
    return {env.name: client.list_secret_names(snapshot.project.id, env.infisical)
            for env in environments if env.infisical}


def _recover_secrets(
    clients: VendorClients, reads: Sequence[ProjectRead], *, request: ImportRequest,
    organization: str, environments: Sequence[Environment],
    names: Mapping[str, Sequence[SecretName]],
) -> dict[str, dict[str, str | None]]:
    """ref → provider → the Infisical reference whose value Supabase's HMAC matches."""
    env_of = {ref: env.name for env in environments for ref in env.refs()}
    resolver = None
    if request.infisical_project:
        resolver = InfisicalResolver(
            clients.infisical(), organization=organization, project=request.project,
            infisical_project=request.infisical_project,
            environments={e.name: e.infisical for e in environments if e.infisical})
    found: dict[str, dict[str, str | None]] = {}
    for read in reads:
        env = env_of[read.ref]
        candidates = [ref for s in names.get(env, ())
                      if (ref := secret_reference(env, s.secretPath, s.secretKey))]
        found[read.ref] = {
            provider: (recover_provider_secret(ref=read.ref, provider=provider, shown=shown,
                                               candidates=candidates, read=resolver.resolve)
                       if resolver is not None else None)
            for provider, shown in provider_secrets(read.auth).items()
        }
    return found


def _public_values(
    clients: VendorClients, refs: Sequence[str]
) -> dict[str, dict[str, str]]:
    """ref → what converge would publish from it (its URL and, if it has one, anon key)."""
    values: dict[str, dict[str, str]] = {}
    for ref in refs:
        values[ref] = {"url": default_project_url(ref)}
        try:
            values[ref]["anon_key"] = read_anon_key(clients.supabase(), ref)
        except VendorAuthError:
            raise
        except ConvergeError:
            pass  # no anon key to recognise
    return values


def _problems(context: RunContext, project: str) -> tuple[str, ...]:
    """What ``converge validate`` says about the written files (one line each)."""
    try:
        validate_project(context.workspace, project)
    except ConfigErrors as exc:
        return tuple(e.render() for e in exc.errors)
    except ConfigError as exc:
        return (exc.render(),)
    return ()


def import_project(context: RunContext, request: ImportRequest) -> ImportResult:
    """Read the vendors ``request`` names and write project ``request.project``'s files
    into ``context.workspace`` (see the module docstring). Vendor errors propagate
    (``VendorAuthError``: exit 4); nothing is written unless every read succeeded."""
    project = request.project
    check_project_name(project)
    if not request.force:
        refuse_overwrite(context.workspace, project)
    findings = Findings()
    clients = context.vendor_clients()
    try:
        snapshot = (read_infisical(clients.infisical(), request.infisical_project)
                    if request.infisical_project else None)
        environments = resolve_environments(request, snapshot, findings)
        organization = resolve_organization(request, snapshot)
        names = (_secret_names(clients, snapshot, environments)
                 if snapshot is not None and (request.vercel_project or request.supabase_refs)
                 else {})
        records = (read_vercel(clients.vercel(), ProjectScope(request.vercel_team,
                                                              request.vercel_project))
                   if request.vercel_project else ())
        reads = [read_project(clients.supabase(), s.ref) for s in request.supabase_refs]
        secrets = _recover_secrets(clients, reads, request=request, organization=organization,
                                   environments=environments, names=names)
        owner = f"{organization}/{project}"
        infisical = (translate_infisical(snapshot, project=project, owner=owner,
                                         slugs={e.name: e.infisical for e in environments},
                                         findings=findings)
                     if snapshot is not None else None)
        index = DigestIndex(candidate_references(
            identities=infisical.identity_names if infisical else (), secrets=names))
        env_targets = {e.name: e.vercel for e in environments}
        vercel = (translate_vercel(records, project=project, env_targets=env_targets,
                                   references=index, findings=findings)
                  if request.vercel_project else None)
        published = vercel.published if vercel else []
        if published and not reads:
            for record in published:
                findings.skipped("supabase", f"published {record.key}", "published by converge "
                                 "from Supabase, but no --supabase-ref was given; left out")
        public_values = _public_values(clients, [r.ref for r in reads]) if published else {}
    finally:
        clients.close()
    supabase = (translate_supabase(
        reads, secrets=secrets, published=published if reads else [],
        env_targets=env_targets, env_refs={e.name: e.refs() for e in environments},
        public_values=public_values, findings=findings) if reads else None)
    if any(e.regions for e in environments):
        findings.skipped("supabase", "rollout", "rollout waves are not kept at any vendor; "
                         "add rollout: to project.yaml to apply region by region")

    adopt = [*(infisical.adopt if infisical else []), *(vercel.adopt if vercel else [])]
    documents: dict[str, dict[str, Any]] = {
        "project": _project_document(request, environments, organization, adopt)}
    if infisical is not None:
        documents["identities"] = {"identities": infisical.identities}
        documents["roles"] = {"roles": infisical.roles}
    if vercel is not None:
        documents["vercel"] = vercel.document()
    if supabase is not None:
        documents["supabase"] = supabase.document
    header = (f"Written by converge import {project} from the live state of "
              f"{', '.join(request.sources())}.")
    texts = render_documents(project, documents, header=header)
    written, removed = write_documents(context.workspace, project, texts, replace=request.force)
    counts = {
        "roles": len(infisical.roles) if infisical else 0,
        "identities": len(infisical.identities) if infisical else 0,
        "vercel_variables": vercel.records if vercel else 0,
        "supabase_projects": len(reads),
        "published": supabase.published if supabase else 0,
    }
    return ImportResult(
        project=project, sources=tuple(request.sources()), written=tuple(written),
        removed=tuple(removed), findings=tuple(findings.items), adopt=tuple(adopt),
        counts=counts, problems=_problems(context, project), requests=context.counter.total(),
    )
