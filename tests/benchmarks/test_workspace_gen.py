"""The benchmark workspace generator makes valid projects shaped like journal that share
no vendor-side object and no identity, so any number of them applies side by side."""

from __future__ import annotations

from pathlib import Path

from benchmarks.workspace_gen import generate_workspace, migration_sql, supabase_ref

from converge.config.workspace import open_workspace
from converge.engine.pipeline import validate_project
from converge.render.artifacts import supabase_projects


def test_each_generated_project_is_journal_shaped_and_its_own(tmp_path: Path) -> None:
    made = generate_workspace(tmp_path, 3, organization="globex", team="globex")
    workspace = open_workspace(tmp_path)
    loaded = [workspace.load_project(p.name) for p in made]

    for project, inputs in zip(made, loaded, strict=True):
        validate_project(workspace, project.name)
        assert inputs.vercel is not None and inputs.supabase is not None
        published = len(inputs.supabase.publish.vercel)
        assert len(inputs.vercel.public) + len(inputs.vercel.server) + published == 20
        assert len(inputs.roles) == 4 and len(inputs.identities) == 3
        assert inputs.waivers == ()
        targets = inputs.project.targets
        assert targets.infisical is not None and targets.vercel is not None
        assert (targets.infisical.organization, targets.vercel.team) == ("globex", "globex")
        assert targets.infisical.project == project.infisical_project
        assert targets.vercel.project == project.vercel_project
        assert [r.ref for r in supabase_projects(inputs)] == [project.supabase_ref]
    identities = [i.full_name(p.name) for p, inputs in zip(made, loaded, strict=True)
                  for i in inputs.identities]
    assert len(set(identities)) == 9  # no identity shared between projects
    for attribute in ("infisical_project", "vercel_project", "supabase_ref"):
        assert len({getattr(p, attribute) for p in made}) == 3


def test_supabase_refs_are_twenty_letters_and_unique_per_prefix() -> None:
    refs = {supabase_ref("app", i) for i in range(2000)} | {supabase_ref("gen", 0)}
    assert len(refs) == 2001
    assert all(len(r) == 20 and r.isalpha() and r.islower() for r in refs)


def test_the_migration_creates_twenty_tables_idempotently() -> None:
    sql = migration_sql()
    assert sql.count("create table if not exists public.t") == 20
    assert "row level security" not in sql
