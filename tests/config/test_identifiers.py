"""Names that end up in URL paths or comma-joined API fields are checked where they are
written (issue 8 item 2): a PostgreSQL schema name, a Vercel project or team, an
Infisical or Supabase organization or project slug. Each refusal names the file, line and
column and says what a valid value looks like.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from converge.errors import ConfigErrors
from tests.policies.helpers import load

SUPA = "data/platforms/supabase/journal.yaml"
PROJECT = "projects/journal/project.yaml"
RLS = "    schemas: [public]"


def _edit(workspace: Path, rel: str, old: str, new: str) -> None:
    path = workspace / rel
    text = path.read_text()
    assert old in text, f"{old!r} not in {rel}"
    path.write_text(text.replace(old, new, 1))


def _errors(workspace: Path) -> list[str]:
    with pytest.raises(ConfigErrors) as caught:
        load(workspace, "journal")
    return [e.render() for e in caught.value.errors]


def test_the_reported_rls_bypass_is_refused_where_it_is_written(workspace: Path) -> None:
    """api.schemas: ["public,auth"] with the same in database.rls.schemas used to pass
    decide and expose auth.users without RLS."""
    _edit(workspace, SUPA, RLS, '    schemas: ["public,auth"]\napi:\n  schemas: ["public,auth"]')
    errors = _errors(workspace)
    assert [e.split(": ")[0] for e in errors] == [f"{SUPA}:16:15", f"{SUPA}:18:13"]
    assert all("PostgreSQL identifier" in e for e in errors), errors


@pytest.mark.parametrize("name", ['"public,auth"', '" public"', '"pub lic"', "'a\"b'", '""',
                                  '"1abc"', '"a;drop"', '"' + "a" * 64 + '"', '"pùblic"'])
def test_schema_names_must_be_postgresql_identifiers(workspace: Path, name: str) -> None:
    _edit(workspace, SUPA, RLS, f"    schemas: [{name}]")
    errors = _errors(workspace)
    assert len(errors) == 1 and errors[0].startswith(f"{SUPA}:16:15: database.rls.schemas.0: ")
    assert "PostgreSQL identifier" in errors[0]


@pytest.mark.parametrize("name", ["public", "_private", "Reports", "app$2", "a" * 63])
def test_valid_schema_names_pass(workspace: Path, name: str) -> None:
    _edit(workspace, SUPA, RLS, f"    schemas: [{name}]")
    supabase = load(workspace, "journal").supabase
    assert supabase is not None and supabase.database.rls.schemas == [name]


def test_redirect_urls_holding_a_comma_are_refused(workspace: Path) -> None:
    """uri_allow_list is sent comma-joined: one entry with a comma would become two."""
    _edit(workspace, SUPA, "uri_allow_list: [https://journal.acme.example/auth/callback]",
          'uri_allow_list: ["https://journal.acme.example/cb,https://evil.example"]')
    errors = _errors(workspace)
    assert len(errors) == 1 and errors[0].startswith(f"{SUPA}:4:20: auth.uri_allow_list.0: ")


TARGETS = "  vercel: {team: acme, project: journal-web}"


@pytest.mark.parametrize(("old", "new", "field"), [
    (TARGETS, "  vercel: {team: acme, project: a/../../v2/teams}", "targets.vercel.project"),
    (TARGETS, "  vercel: {team: acme, project: ..}", "targets.vercel.project"),
    (TARGETS, "  vercel: {team: acme, project: Journal-Web}", "targets.vercel.project"),
    (TARGETS, "  vercel: {team: acme, project: a---b}", "targets.vercel.project"),
    (TARGETS, "  vercel: {team: acme, project: " + "a" * 101 + "}", "targets.vercel.project"),
    (TARGETS, "  vercel: {team: acme/../x, project: journal-web}", "targets.vercel.team"),
    (TARGETS, "  vercel: {team: 'ac me', project: journal-web}", "targets.vercel.team"),
    ("{organization: acme, project: journal}", "{organization: acme, project: j/../x}",
     "targets.infisical.project"),
    ("{organization: acme, project: journal}", "{organization: 'a?b', project: journal}",
     "targets.infisical.organization"),
    ("supabase: {organization: acme}", "supabase: {organization: acme/..}",
     "targets.supabase.organization"),
])
def test_vendor_names_that_reach_url_paths_follow_the_vendor_rules(
    workspace: Path, old: str, new: str, field: str
) -> None:
    _edit(workspace, PROJECT, old, new)
    errors = _errors(workspace)
    assert len(errors) == 1 and f": {field}: " in errors[0], errors
    assert errors[0].startswith(f"{PROJECT}:")


@pytest.mark.parametrize("new", [
    "  vercel: {team: team_a1B2c3, project: prj_AbC123}",
    "  vercel: {project: my.site_v2-web}",
])
def test_vercel_ids_and_dotted_names_pass(workspace: Path, new: str) -> None:
    _edit(workspace, PROJECT, TARGETS, new)
    load(workspace, "journal")
