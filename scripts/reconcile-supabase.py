#!/usr/bin/env python3
"""Apply a project's Supabase auth settings, RLS and published values (the brief's script).

Usage: ./scripts/reconcile-supabase.py PROJECT [--dry-run]
                                       [--supabase-url URL] [--supabase-key KEY]

``--supabase-url`` is the Management API base URL (SUPABASE_API_URL) and
``--supabase-key`` the access token (SUPABASE_ACCESS_TOKEN); both default to the
environment. The key is passed on through the environment, never on a command line.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _converge_entry import run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project")
    parser.add_argument("--dry-run", action="store_true", help="preview changes, write nothing")
    parser.add_argument("--supabase-url", help="Management API URL (default $SUPABASE_API_URL)")
    parser.add_argument("--supabase-key", help="access token (default $SUPABASE_ACCESS_TOKEN)")
    args = parser.parse_args()
    if args.supabase_url:
        os.environ["SUPABASE_API_URL"] = args.supabase_url
    if args.supabase_key:
        os.environ["SUPABASE_ACCESS_TOKEN"] = args.supabase_key
        os.environ.setdefault("CONVERGE_TARGET", "live")
    argv = ["apply", args.project, "--system", "supabase"]
    if args.dry_run:
        argv.append("--dry-run")
    run(argv)


if __name__ == "__main__":
    main()
