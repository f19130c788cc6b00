#!/usr/bin/env python3
"""Apply a project's Infisical roles, machine identities and bindings (the brief's script).

Usage: ./scripts/reconcile-infisical.py PROJECT [--dry-run] [--config ~/.infisical/config.json]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _converge_entry import UsageParser, run  # noqa: E402


def main() -> None:
    parser = UsageParser(description=__doc__.splitlines()[0])
    parser.add_argument("project")
    parser.add_argument("--dry-run", action="store_true", help="preview changes, write nothing")
    parser.add_argument(
        "--config", help="Infisical credentials file (apiUrl, token or clientId/clientSecret)"
    )
    args = parser.parse_args()
    argv = ["apply", args.project, "--system", "infisical"]
    if args.dry_run:
        argv.append("--dry-run")
    if args.config:
        argv += ["--config", str(Path(args.config).expanduser())]
    run(argv)


if __name__ == "__main__":
    main()
