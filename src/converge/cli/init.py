"""``converge init [DIR]``: parse, call ``converge.scaffold``, print what was written."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from converge.cli.options import output_format, output_option
from converge.cli.output import emit_json
from converge.scaffold import default_pip_spec, init_workspace, next_steps


@click.command("init")
@click.argument(
    "directory", type=click.Path(path_type=Path, file_okay=False), default=Path("."),
    required=False,
)
@click.option(
    "--force",
    is_flag=True,
    help="Write into a folder that is not empty, replacing files with the same names.",
)
@click.option(
    "--pip-spec",
    default=None,
    metavar="SPEC",
    help="What CI installs (CONVERGE_PIP_SPEC in the workflow); default: the git commit "
    "this converge was installed from, else a git URL to fill in.",
)
@output_option("text", "json")
@click.pass_context
def init(ctx: click.Context, directory: Path, force: bool, pip_spec: str | None) -> None:
    """Create a workspace: converge.yaml, a sample project, Makefile, CI workflow.

    Writes converge.yaml (target live), the sample project `web` (a role, a machine
    identity and its binding, Vercel variables, Supabase settings), a Rego policy,
    .gitignore, a Makefile with the brief's targets and .github/workflows/converge.yml
    (plan on pull requests, apply on main, a daily drift check). DIRECTORY (default:
    the current folder) must be empty apart from .git, unless --force.

    \b
    Example:
      converge init my-infra && cd my-infra && converge validate --all
    """
    result = init_workspace(directory, force=force, pip_spec=pip_spec or default_pip_spec())
    steps = next_steps(result, str(directory))
    if output_format(ctx) == "json":
        emit_json(
            {
                "workspace": str(result.root),
                "files": [{"path": f.path, "action": f.action} for f in result.files],
                "pip_spec": result.pip_spec,
                "next_steps": steps,
            }
        )
        sys.exit(0)
    click.echo(f"Wrote a converge workspace in {result.root}:")
    for written in result.files:
        click.echo(f"  {written.action:<9} {written.path}")
    click.echo("")
    click.echo("Next steps:")
    for number, step in enumerate(steps, start=1):
        click.echo(f"  {number}. {step}")
    sys.exit(0)
