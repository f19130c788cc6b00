"""What the CLI tells the sandbox a workspace names: every project's validated targets."""

from __future__ import annotations

from pathlib import Path

from converge.cli.sandbox_names import workspace_targets


def test_the_example_workspace_names_its_three_projects_vendor_objects(
    workspace: Path,
) -> None:
    named = workspace_targets(workspace)

    assert named.problems == []
    assert named.targets == {
        "infisical": [
            {"organization": "acme", "project": "analytics",
             "environments": ["staging", "prod"]},
            {"organization": "acme", "project": "auth-service", "environments": ["prod"]},
            {"organization": "acme", "project": "journal", "environments": ["prod"]},
        ],
        "vercel": [
            {"team": "acme", "project": "analytics-dashboard"},
            {"team": "acme", "project": "journal-web"},
        ],
        "supabase": [
            {"organization": "acme", "ref": "authsvceuwestqzvtkwm", "region": "eu-west",
             "name": "auth-service eu-west"},
            {"organization": "acme", "ref": "authsvcuseastqzvtkwm", "region": "us-east",
             "name": "auth-service us-east"},
            {"organization": "acme", "ref": "journalprodqzvtkwmrx", "region": None,
             "name": "journal prod"},
        ],
    }


def test_a_project_whose_project_yaml_does_not_validate_is_left_out_and_named(
    workspace: Path,
) -> None:
    path = workspace / "projects" / "analytics" / "project.yaml"
    path.write_text(path.read_text().replace("project: analytics-dashboard",
                                             "project: ../../v2/teams"))

    named = workspace_targets(workspace)

    assert [p["project"] for p in named.targets["vercel"]] == ["journal-web"]
    assert len(named.problems) == 1
    assert named.problems[0].startswith("projects/analytics/project.yaml:")
    assert "../../v2/teams" not in named.problems[0]


def test_a_folder_without_a_workspace_names_nothing(tmp_path: Path) -> None:
    named = workspace_targets(tmp_path)
    assert named.empty and named.problems == []
