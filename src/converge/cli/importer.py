"""``converge import``: parse the options, call ``converge.importer``, print the report.

The library reads the vendors and writes the files; this module turns the options into
an ``ImportRequest`` (a malformed one is a usage error) and prints one line per file and
per finding, then a summary (or one JSON document with ``--output json``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from converge.cli.options import (
    output_format,
    output_option,
    target_options,
    workspace_from_context,
)
from converge.cli.output import finish, paint
from converge.cli.run import open_run
from converge.importer import (
    EnvironmentSpec,
    ImportResult,
    SupabaseRefSpec,
    build_request,
    import_project,
    parse_environment,
    parse_supabase_ref,
)
from converge.importer.findings import Finding

T = TypeVar("T")
SYMBOLS = {"skipped": "-", "placeholder": "?", "differs": "~", "refused": "!", "adopt": "&"}


def _parsed(parse: Callable[[str], T]) -> Callable[[click.Context, click.Parameter, Any],
                                                   tuple[T, ...]]:
    def callback(ctx: click.Context, param: click.Parameter, values: Any) -> tuple[T, ...]:
        try:
            return tuple(parse(v) for v in values or ())
        except ValueError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from None

    return callback


def _finding_line(finding: Finding) -> str:
    colour = {"adopt": "cyan", "refused": "red"}.get(finding.kind, "yellow")
    return f"  {paint(SYMBOLS[finding.kind], colour)} {finding.line()}"


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _summary(result: ImportResult) -> str:
    counts = result.counts
    parts = []
    if counts["roles"] or counts["identities"]:
        parts += [_plural(counts["roles"], "role", "roles"),
                  _plural(counts["identities"], "identity", "identities")]
    if counts["vercel_variables"]:
        parts.append(_plural(counts["vercel_variables"], "Vercel variable", "Vercel variables"))
    if counts["supabase_projects"]:
        parts.append(_plural(counts["supabase_projects"], "Supabase project",
                             "Supabase projects"))
    imported = ", ".join(parts) or "nothing"
    return (f"{result.project}: imported {imported}; {len(result.adopt)} to adopt on the next "
            f"apply; {len(result.to_review)} not expressed as they are (listed above)")


@click.command("import")
@click.argument("project")
@click.option("--infisical-project", metavar="SLUG", help="Infisical project to read (slug).")
@click.option("--vercel-project", metavar="NAME", help="Vercel project to read (name or id).")
@click.option("--vercel-team", metavar="TEAM", help="Vercel team of the project (slug or id).")
@click.option(
    "--supabase-ref",
    "supabase_refs",
    metavar="[[REGION/]ENV=]REF",
    multiple=True,
    callback=_parsed(parse_supabase_ref),
    help="Supabase project to read, for an environment (and region); repeatable.",
)
@click.option(
    "--environment",
    "environments",
    metavar="NAME[=SLUG][:TARGET+…]",
    multiple=True,
    callback=_parsed(parse_environment),
    help="A converge environment, its Infisical slug and Vercel targets, e.g. "
    "preview=staging:preview+development; repeatable (default: prod).",
)
@click.option("--organization", metavar="ORG",
              help="Organisation slug for the targets (default: from converge's markers).")
@click.option("--force", is_flag=True, help="Replace the project's existing files.")
@output_option("text", "json")
@target_options
@click.pass_context
def import_command(
    ctx: click.Context,
    project: str,
    infisical_project: str | None,
    vercel_project: str | None,
    vercel_team: str | None,
    supabase_refs: tuple[SupabaseRefSpec, ...],
    environments: tuple[EnvironmentSpec, ...],
    organization: str | None,
    force: bool,
) -> None:
    """Write a project's workspace files from the live vendors; makes no vendor write.

    Reads roles, identities and bindings (Infisical), env vars (Vercel: public values
    as literals, others as references, never their values), auth settings, exposed
    schemas and RLS (Supabase). Objects not managed by converge yet are listed under
    adopt: in project.yaml, so the next apply takes them over. Prints what could not be
    expressed. Exit 0; 1 on a vendor error; 4 when credentials are refused.

    \b
    Example:
      converge import journal --infisical-project journal \\
        --vercel-project journal-web --vercel-team acme \\
        --supabase-ref journalprodqzvtkwmrx --environment prod=prod:production
    """
    workspace = workspace_from_context(ctx)
    try:
        request = build_request(
            project, environments=environments, infisical_project=infisical_project,
            vercel_project=vercel_project, vercel_team=vercel_team,
            supabase_refs=supabase_refs, organization=organization, force=force)
    except ValueError as exc:
        raise click.UsageError(str(exc), ctx=ctx) from None
    with open_run(ctx, workspace, journal=False) as run:
        result = import_project(run, request)
    if output_format(ctx) == "json":
        finish(0, result.to_json())
    click.echo(f"{project}: imported from {', '.join(result.sources)}")
    for path in result.written:
        click.echo(f"  wrote {path}")
    for path in result.removed:
        click.echo(f"  removed {path}")
    for finding in result.findings:
        click.echo(_finding_line(finding))
    for problem in result.problems:
        click.echo(f"  validate: {problem}")
    click.echo(_summary(result))
    if result.problems:
        click.echo(f"next: fix what validate says above, then converge decide {project}")
    else:
        click.echo(f"next: converge decide {project} && converge render {project} && "
                   f"converge plan {project}")
    sys.exit(0)
