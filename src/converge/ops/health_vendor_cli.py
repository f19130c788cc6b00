"""``converge health --vendor-cli``: the brief's own health commands, where they can run.

- ``vercel env ls`` runs when the Vercel CLI is found (``$CONVERGE_VERCEL_CLI``, else
  ``vercel`` on ``PATH``), in a throwaway folder holding ``.vercel/project.json`` (the
  project and team ids), with ``--api $VERCEL_API_URL`` when that is set and the token
  passed as ``VERCEL_TOKEN`` in the child's environment (never on its command line, where
  other users could read it). The check passes when it exits 0 and lists every desired
  key. Its output is not shown: it may hold plain values.
- ``infisical identities list`` is skipped: the Infisical CLI is not installable here
  (its npm package downloads the binary from GitHub at install time). The same facts are
  checked through the API.
- ``supabase db dump`` is skipped: it needs a direct database connection and Docker for
  ``pg_dump``. Row-level security is checked through the Management API instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from converge.desired import DesiredState
from converge.ops.health import HealthCheck, failed, passed, skipped
from converge.ops.health_checks import VercelView
from converge.vendors.vercel.client import ProjectScope

CLI_VARIABLE = "CONVERGE_VERCEL_CLI"
TIMEOUT_S = 90


def find_vercel_cli(env: Mapping[str, str]) -> str | None:
    explicit = env.get(CLI_VARIABLE, "").strip()
    if explicit:
        return explicit if Path(explicit).is_file() else None
    return shutil.which("vercel", path=search_path(env))


def search_path(env: Mapping[str, str]) -> str:
    return env.get("PATH") or os.environ.get("PATH") or os.defpath


def vendor_cli_checks(
    desired: DesiredState, env: Mapping[str, str], view: VercelView | None
) -> list[HealthCheck]:
    checks: list[HealthCheck] = []
    if "infisical" in desired.systems:
        checks.append(skipped(
            "infisical", "infisical identities list",
            "the Infisical CLI is not installable here (its npm package downloads the "
            "binary from GitHub); identities and bindings were checked through the API"
            if shutil.which("infisical", path=search_path(env)) is None
            else "not run: converge checks identities and bindings through the API",
        ))
    if desired.vercel is not None:
        checks.append(_vercel_env_ls(desired, env, view))
    if desired.supabase is not None:
        checks.append(skipped(
            "supabase", "supabase db dump --schema public",
            "needs a direct database connection and Docker for pg_dump; row-level "
            "security was checked through the Management API",
        ))
    return checks


def _vercel_env_ls(
    desired: DesiredState, env: Mapping[str, str], view: VercelView | None
) -> HealthCheck:
    name = "vercel env ls"
    assert desired.vercel is not None
    exe = find_vercel_cli(env)
    if exe is None:
        return skipped("vercel", name, f"the Vercel CLI is not installed (npm i vercel, or set "
                                       f"{CLI_VARIABLE})")
    token = env.get("VERCEL_TOKEN", "").strip()
    if not token or view is None:
        return skipped("vercel", name, "VERCEL_TOKEN is not set")
    scope = ProjectScope(team=desired.vercel.team, project=desired.vercel.project)
    client = view.client
    project_id = client.project_id(scope)
    response = client.http.request("GET", f"/v9/projects/{project_id}", params=scope.params())
    org_id = str(response.json().get("accountId") or "")
    keys = sorted({v.key for v in desired.vercel.variables})
    with tempfile.TemporaryDirectory(prefix="converge-vercel-") as tmp:
        work = Path(tmp)
        (work / ".vercel").mkdir()
        (work / ".vercel" / "project.json").write_text(
            json.dumps({"projectId": project_id, "orgId": org_id}), encoding="utf-8")
        (work / "home").mkdir()
        args = [exe]
        api = env.get("VERCEL_API_URL", "").strip()
        if api:
            args += ["--api", api]
        args += ["env", "ls"]
        child_env = {
            "PATH": search_path(env),
            "HOME": str(work / "home"),
            "VERCEL_TOKEN": token,
            "VERCEL_TELEMETRY_DISABLED": "1",
            "NO_UPDATE_NOTIFIER": "1",
            "NO_COLOR": "1",
            "CI": "1",
        }
        try:
            done = subprocess.run(args, cwd=work, env=child_env, capture_output=True,
                                  text=True, timeout=TIMEOUT_S, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            return failed("vercel", name, f"could not run the Vercel CLI ({type(exc).__name__})")
    if done.returncode != 0:
        return failed("vercel", name, f"exited with {done.returncode}")
    listing = done.stdout + done.stderr
    absent = [k for k in keys if k not in listing]
    if absent:
        return failed("vercel", name, f"does not list {', '.join(absent)}")
    return passed("vercel", name, f"lists all {len(keys)} desired key(s)")
