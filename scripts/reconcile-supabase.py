#!/usr/bin/env python3
"""Apply a project's Supabase auth settings, RLS and published values (the brief's script).

Usage: ./scripts/reconcile-supabase.py PROJECT [--dry-run]
                                       [--supabase-url URL] [--supabase-key KEY]

``--supabase-url`` is the Management API base URL (SUPABASE_API_URL, default
https://api.supabase.com) and ``--supabase-key`` a Management API access token
(SUPABASE_ACCESS_TOKEN: a personal access token, ``sbp_…``); both default to the
environment, and either one makes the run talk to the live vendors. The key is passed on
through the environment, never on a command line.

The brief's own example passes a project's URL and ``service_role`` key instead, and its
CI sets ``SUPABASE_SERVICE_KEY``: neither can reach the Management API, which converge
needs to manage auth settings and run SQL, so both are refused up front, without a
request, in one sentence saying what the key can and cannot do (exit 4; the key is never
printed).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _converge_entry import ensure_converge, run  # noqa: E402


def check_given_credentials(given_as: dict[str, str]) -> None:
    """Refuse a project key or URL given on the command line before converge starts."""
    ensure_converge()
    from converge.cli.output import print_error
    from converge.errors import ConvergeError
    from converge.vendors.supabase.credentials import check_management_credentials

    try:
        check_management_credentials(os.environ, given_as=given_as)
    except ConvergeError as exc:
        print_error(exc)
        sys.exit(exc.exit_code)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project")
    parser.add_argument("--dry-run", action="store_true", help="preview changes, write nothing")
    parser.add_argument("--supabase-url",
                        help="Management API URL (default $SUPABASE_API_URL, else "
                        "https://api.supabase.com)")
    parser.add_argument("--supabase-key",
                        help="Management API access token, sbp_… (default "
                        "$SUPABASE_ACCESS_TOKEN)")
    args = parser.parse_args()
    given_as: dict[str, str] = {}
    if args.supabase_url:
        os.environ["SUPABASE_API_URL"] = args.supabase_url
        given_as["SUPABASE_API_URL"] = "--supabase-url"
    if args.supabase_key:
        os.environ["SUPABASE_ACCESS_TOKEN"] = args.supabase_key
        given_as["SUPABASE_ACCESS_TOKEN"] = "--supabase-key"
    if given_as:
        os.environ.setdefault("CONVERGE_TARGET", "live")
        check_given_credentials(given_as)
    argv = ["apply", args.project, "--system", "supabase"]
    if args.dry_run:
        argv.append("--dry-run")
    run(argv)


if __name__ == "__main__":
    main()
