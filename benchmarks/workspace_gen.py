"""Generated workspaces for benchmarks and tests: N valid, independent projects.

Each project is shaped like the example's journal, with its own vendor-side objects, so
any number of them applies against one sandbox (which creates what they name, see
``converge_sandbox.wanted``) or one set of real accounts:

- its own Infisical project (``<name>``, environment ``prod``), 4 roles (3 bound, one
  reader left unbound) and 3 machine identities named after the project
  (``web@<name>-prod``: no identity is shared between projects, unlike journal's
  org-wide ``ci@github-prod``), each with a client secret usable only from listed networks;
- its own Vercel project (``<name>-web``) with 20 variables: 12 public values, 6 server
  references to the identities' client ids and secrets, and 2 published from Supabase;
- its own Supabase ref (20 lowercase letters, unique per project) with journal's auth
  settings and row-level security enforced on ``public``, whose 20 tables a user's
  migrations create: ``create_tables`` runs them through the Management API's query
  endpoint once the sandbox (or Supabase) serves the workspace.

``converge validate/decide/render --all`` pass on it without waivers.

    from benchmarks.workspace_gen import generate_workspace, create_tables
    projects = generate_workspace(root, 100)
"""

from __future__ import annotations

import argparse
import hashlib
import string
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx

PUBLIC_VARIABLES = 12
TABLES = 20
IDENTITIES = (  # name, roles, trusted network of its client secret
    ("web", ("runtime",), "10.10.0.0/16"),
    ("worker", ("runtime", "jobs"), "10.20.0.0/16"),
    ("deploy", ("ci",), "140.82.112.0/20"),
)
ROLES = (  # name, description, secret path it reads
    ("runtime", "Read the app's runtime secrets", "/runtime/**"),
    ("jobs", "Read the background jobs' secrets", "/jobs/**"),
    ("ci", "Read build secrets during deploys", "/ci/**"),
    ("auditor", "Describe every secret (held by no machine identity)", "/**"),
)
OWNERS_POLICY = """package converge.policy

import rego.v1

# Every project names at least one owner to page when a reconcile fails.
deny contains msg if {
\tcount(object.get(input.project, "owners", [])) == 0
\tmsg := sprintf("project %s has no owners", [input.project.name])
}
"""


@dataclass(frozen=True)
class GeneratedProject:
    """One generated project and the vendor-side objects it names."""

    name: str
    infisical_project: str
    vercel_project: str
    supabase_ref: str


def supabase_ref(prefix: str, index: int) -> str:
    """20 lowercase letters, unique per (prefix, index): the index in base 26 (6 letters),
    then letters derived from the prefix."""
    digits = []
    number = index
    for _ in range(6):
        number, digit = divmod(number, 26)
        digits.append(string.ascii_lowercase[digit])
    tail = hashlib.sha256(f"converge-bench/{prefix}".encode()).digest()
    return "".join(reversed(digits)) + "".join(
        string.ascii_lowercase[b % 26] for b in tail[:14]
    )


def generate_workspace(
    root: Path, count: int, *, prefix: str = "app", organization: str = "acme",
    team: str = "acme", target: str = "sandbox", settings: bool = True,
) -> list[GeneratedProject]:
    """Write a workspace of ``count`` projects to ``root`` (created if missing); the
    projects, in name order. ``settings=False`` adds the projects to the workspace
    already there (its ``converge.yaml`` and policies stay as they are)."""
    if count > 26**6:
        raise ValueError("at most 26**6 projects per prefix")
    root.mkdir(parents=True, exist_ok=True)
    if settings:
        (root / "converge.yaml").write_text(
            f"target: {target}\nstate: .converge/state.db\nout: .out\npolicies: policies\n",
            encoding="utf-8",
        )
        (root / "policies").mkdir(exist_ok=True)
        (root / "policies" / "owners.rego").write_text(OWNERS_POLICY, encoding="utf-8")
    width = max(4, len(str(count - 1)))
    projects = []
    for index in range(count):
        name = f"{prefix}-{index:0{width}d}"
        project = GeneratedProject(name, name, f"{name}-web", supabase_ref(prefix, index))
        for relative, text in _files(project, organization=organization, team=team).items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        projects.append(project)
    return projects


def _files(p: GeneratedProject, *, organization: str, team: str) -> dict[str, str]:
    name = p.name
    identities = "identities:\n" + "".join(
        f"  - name: {identity}\n"
        f"    environment: prod\n"
        f"    description: {identity} of {name}\n"
        f"    roles: [{', '.join(roles)}]\n"
        f"    auth:\n"
        f"      universal:\n"
        f"        access_token_ttl: 900\n"
        f"        access_token_max_ttl: 3600\n"
        f"        client_secret_trusted_ips: [{network}]\n"
        for identity, roles, network in IDENTITIES
    )
    roles = "roles:\n" + "".join(
        f"  - name: {role}\n"
        f"    environment: prod\n"
        f"    description: {description}\n"
        f"    permissions:\n"
        f"      - subject: secrets\n"
        f"        actions: [read, describe]\n"
        f"        conditions: {{secret_path: '{path}'}}\n"
        for role, description, path in ROLES
    )
    public = "".join(
        f"  NEXT_PUBLIC_SETTING_{n:02d}:\n"
        f"    value: {name}-setting-{n:02d}\n"
        f"    environments: [prod]\n"
        for n in range(1, PUBLIC_VARIABLES + 1)
    )
    server = "".join(
        f"  INFISICAL_{identity.upper()}_CLIENT_{field.upper().replace('-', '_')}:\n"
        f"    ref: identity/{identity}@{name}-prod/client-{field}\n"
        f"    environments: [prod]\n"
        for identity, _, _ in IDENTITIES for field in ("id", "secret")
    )
    return {
        f"projects/{name}/project.yaml": (
            f"name: {name}\n"
            f"description: Generated project {name}, shaped like journal\n"
            f"owners: [{name}@example.test]\n"
            f"targets:\n"
            f"  infisical: {{organization: {organization}, project: {p.infisical_project}}}\n"
            f"  vercel: {{team: {team}, project: {p.vercel_project}}}\n"
            f"  supabase: {{organization: {organization}}}\n"
            f"environments:\n"
            f"  prod:\n"
            f"    infisical: prod\n"
            f"    vercel: [production]\n"
            f"    supabase: {p.supabase_ref}\n"
        ),
        f"projects/{name}/identities.yaml": identities,
        f"data/infisical/{name}/roles.yaml": roles,
        f"data/platforms/vercel/{name}.yaml": f"public:\n{public}server:\n{server}",
        f"data/platforms/supabase/{name}.yaml": (
            f"auth:\n"
            f"  jwt_exp: 3600\n"
            f"  site_url: https://{name}.example.test\n"
            f"  uri_allow_list: [https://{name}.example.test/auth/callback]\n"
            f"  disable_signup: false\n"
            f"  mailer_autoconfirm: false\n"
            f"  password_min_length: 12\n"
            f"database:\n"
            f"  rls: {{enforce: true, schemas: [public]}}\n"
            f"publish:\n"
            f"  vercel:\n"
            f"    NEXT_PUBLIC_SUPABASE_URL: {{from: url, environments: [prod]}}\n"
            f"    NEXT_PUBLIC_SUPABASE_ANON_KEY: {{from: anon_key, environments: [prod]}}\n"
        ),
    }


def migration_sql(tables: int = TABLES) -> str:
    """The tables a user's first migration creates (idempotent), none with row-level
    security yet: enforcing it is converge's job."""
    statements = [
        f"create table if not exists public.t{n:02d} (\n"
        f"  id bigint generated by default as identity primary key,\n"
        f"  owner uuid,\n"
        f"  body text,\n"
        f"  created_at timestamptz not null default now()\n"
        f");"
        for n in range(1, tables + 1)
    ]
    return "\n".join(statements)


def create_tables(
    api_url: str, access_token: str, refs: Iterable[str], *, tables: int = TABLES,
    client: httpx.Client | None = None,
) -> int:
    """Run the migration on each ref through ``POST /v1/projects/{ref}/database/query``
    (the sandbox's or Supabase's Management API), as a user's ``supabase db push`` would;
    the number of requests made. Raises ``httpx.HTTPStatusError`` on a refusal."""
    sql = migration_sql(tables)
    own = client is None
    http = client or httpx.Client(timeout=60, trust_env=False)
    made = 0
    try:
        for ref in refs:
            response = http.post(
                f"{api_url.rstrip('/')}/v1/projects/{ref}/database/query",
                json={"query": sql},
                headers={"Authorization": f"Bearer {access_token}"},
            )
            made += 1
            response.raise_for_status()
    finally:
        if own:
            http.close()
    return made


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="folder to write the workspace to")
    parser.add_argument("--projects", type=int, default=10)
    parser.add_argument("--prefix", default="app")
    parser.add_argument("--organization", default="acme")
    parser.add_argument("--team", default="acme")
    parser.add_argument("--target", default="sandbox", choices=("sandbox", "live"))
    args = parser.parse_args()
    made = generate_workspace(args.root, args.projects, prefix=args.prefix,
                              organization=args.organization, team=args.team,
                              target=args.target)
    print(f"wrote {len(made)} projects to {args.root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
