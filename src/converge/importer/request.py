"""What ``converge import`` is asked to read, parsed from its options (pure).

``--environment NAME[=SLUG][:TARGET[+TARGET…]]`` declares one converge environment: its
Infisical environment slug and the Vercel targets it feeds (``prod=prod:production``,
``preview=staging:preview+development``). What is left out is inferred from the vendors
(``run.resolve_environments``). ``--supabase-ref [[REGION/]ENV=]REF`` names a Supabase
project of an environment (and region); a bare ``REF`` belongs to the only environment.

Parsing errors are ``ValueError`` with a sentence naming the option; the CLI turns them
into usage errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from converge.config.models import ENV_PATTERN, NAME_PATTERN, SUPABASE_REF_PATTERN

VERCEL_TARGETS = ("production", "preview", "development")
DEFAULT_ENVIRONMENT = "prod"
_ENVIRONMENT = re.compile(r"(?P<name>[^=:]+)(?:=(?P<slug>[^:]*))?(?::(?P<targets>[^:]*))?")
_SUPABASE = re.compile(r"(?:(?:(?P<region>[^/=]+)/)?(?P<env>[^/=]+)=)?(?P<ref>[^/=]+)")


@dataclass(frozen=True)
class EnvironmentSpec:
    """One ``--environment``. ``infisical``/``vercel`` are None when not given (inferred);
    an empty slug or target list given explicitly means "none"."""

    name: str
    infisical: str | None = None
    vercel: tuple[str, ...] | None = None


@dataclass(frozen=True)
class SupabaseRefSpec:
    """One ``--supabase-ref``: the ref, and the environment (None: the only one) and
    region (None: no region) it serves."""

    ref: str
    environment: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class ImportRequest:
    """Everything one import reads and writes; built by ``build_request``."""

    project: str
    environments: tuple[EnvironmentSpec, ...]
    infisical_project: str | None = None
    vercel_project: str | None = None
    vercel_team: str | None = None
    supabase_refs: tuple[SupabaseRefSpec, ...] = ()
    organization: str | None = None
    force: bool = False

    def sources(self) -> list[str]:
        """The vendor objects read, as people name them (for the report's first line)."""
        found = []
        if self.infisical_project:
            found.append(f"Infisical project {self.infisical_project}")
        if self.vercel_project:
            team = f"{self.vercel_team}/" if self.vercel_team else ""
            found.append(f"Vercel project {team}{self.vercel_project}")
        if self.supabase_refs:
            found.append("Supabase " + ", ".join(s.ref for s in self.supabase_refs))
        return found


def parse_environment(text: str) -> EnvironmentSpec:
    """``prod``, ``prod=prod``, ``preview=staging:preview+development``, ``dev:``."""
    match = _ENVIRONMENT.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"--environment {text!r}: expected NAME[=SLUG][:TARGET[+TARGET…]]")
    name = match["name"]
    if not re.fullmatch(ENV_PATTERN, name):
        raise ValueError(f"--environment {text!r}: {name!r} is not a valid environment name "
                         "(lower-case letters, digits, '-' and '_')")
    slug = match["slug"]
    if slug and not re.fullmatch(ENV_PATTERN, slug):
        raise ValueError(f"--environment {text!r}: {slug!r} is not an Infisical "
                         "environment slug")
    targets: tuple[str, ...] | None = None
    if match["targets"] is not None:
        targets = tuple(t for t in match["targets"].split("+") if t)
        unknown = [t for t in targets if t not in VERCEL_TARGETS]
        if unknown:
            raise ValueError(f"--environment {text!r}: unknown Vercel target {unknown[0]!r} "
                             f"(use {', '.join(VERCEL_TARGETS)}, joined by '+')")
    return EnvironmentSpec(name=name, infisical=slug, vercel=targets)


def parse_supabase_ref(text: str) -> SupabaseRefSpec:
    """``REF``, ``ENV=REF`` or ``REGION/ENV=REF``."""
    match = _SUPABASE.fullmatch(text.strip())
    if match is None or not re.fullmatch(SUPABASE_REF_PATTERN, match["ref"]):
        raise ValueError(f"--supabase-ref {text!r}: expected [[REGION/]ENV=]REF, where REF is "
                         "a Supabase project ref (20 lower-case letters)")
    region, env = match["region"], match["env"]
    if region is not None and not re.fullmatch(NAME_PATTERN, region):
        raise ValueError(f"--supabase-ref {text!r}: {region!r} is not a valid region name")
    if env is not None and not re.fullmatch(ENV_PATTERN, env):
        raise ValueError(f"--supabase-ref {text!r}: {env!r} is not a valid environment name")
    return SupabaseRefSpec(ref=match["ref"], environment=env, region=region)


def build_request(
    project: str,
    *,
    environments: tuple[EnvironmentSpec, ...] = (),
    infisical_project: str | None = None,
    vercel_project: str | None = None,
    vercel_team: str | None = None,
    supabase_refs: tuple[SupabaseRefSpec, ...] = (),
    organization: str | None = None,
    force: bool = False,
) -> ImportRequest:
    """An ``ImportRequest`` whose options agree with each other: at least one vendor,
    environments named once (``prod`` when none is named), every Supabase ref placed in a
    declared environment, one ref per environment and region."""
    if not (infisical_project or vercel_project or supabase_refs):
        raise ValueError("name something to import: --infisical-project, --vercel-project "
                         "or --supabase-ref")
    if vercel_team and not vercel_project:
        raise ValueError("--vercel-team needs --vercel-project")
    envs = environments or (EnvironmentSpec(DEFAULT_ENVIRONMENT),)
    names = [e.name for e in envs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"--environment {twice[0]} is given twice")
    placed: list[SupabaseRefSpec] = []
    for spec in supabase_refs:
        env = spec.environment
        if env is None:
            if len(envs) != 1:
                raise ValueError(f"--supabase-ref {spec.ref}: say which environment it serves "
                                 "(ENV=REF or REGION/ENV=REF): the import declares "
                                 f"{', '.join(names)}")
            env = names[0]
        elif env not in names:
            raise ValueError(f"--supabase-ref {spec.ref}: environment {env} is not declared "
                             f"(declared: {', '.join(names)}; add --environment {env})")
        placed.append(SupabaseRefSpec(spec.ref, env, spec.region))
    slots = [(s.environment, s.region) for s in placed]
    for spec in placed:
        if slots.count((spec.environment, spec.region)) > 1:
            where = f"{spec.region}/{spec.environment}" if spec.region else spec.environment
            raise ValueError(f"--supabase-ref: {where} is given more than one project ref")
    refs = [s.ref for s in placed]
    if len(set(refs)) != len(refs):
        raise ValueError("--supabase-ref: the same project ref is given twice")
    return ImportRequest(
        project=project,
        environments=tuple(envs),
        infisical_project=infisical_project,
        vercel_project=vercel_project,
        vercel_team=vercel_team,
        supabase_refs=tuple(placed),
        organization=organization,
        force=force,
    )
