#!/usr/bin/env python3
"""A stand-in for ``gh api`` with the issue-comment endpoints of one repository.

Comments live in the JSON file named by ``GH_SHIM_STATE`` (``{"comments": [...],
"calls": [...]}``); every call is recorded. Supported, as gh does them: ``--method``,
``--paginate`` (one page here), ``--jq`` (through the real ``jq -r``; gh prints strings
raw too) and ``-F/--field key=@file`` (the file's text) or ``key=value``. ``GH_TOKEN`` must
be set, as for gh on a runner. Anything else exits 1, so a workflow that calls more of
GitHub's API than this knows fails its test.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

BOT = "github-actions[bot]"


def fail(message: str) -> None:
    sys.stderr.write(f"gh-shim: {message}\n")
    sys.exit(1)


def parse(argv: list[str]) -> tuple[str, str, str | None, dict[str, str]]:
    if not argv or argv[0] != "api":
        fail(f"only `gh api` is emulated, not {argv[:1]}")
    method, endpoint, jq, fields = "", "", None, {}
    args = iter(argv[1:])
    for arg in args:
        if arg in ("-X", "--method"):
            method = next(args)
        elif arg == "--paginate":
            continue
        elif arg in ("-q", "--jq"):
            jq = next(args)
        elif arg in ("-F", "--field", "-f", "--raw-field"):
            key, _, value = next(args).partition("=")
            if value.startswith("@") and arg in ("-F", "--field"):
                value = Path(value[1:]).read_text(encoding="utf-8")
            fields[key] = value
        elif arg.startswith("-"):
            fail(f"unknown option {arg}")
        elif not endpoint:
            endpoint = arg
        else:
            fail(f"unexpected argument {arg}")
    return (method or ("POST" if fields else "GET")), endpoint, jq, fields


def main() -> None:
    if not os.environ.get("GH_TOKEN"):
        fail("GH_TOKEN is not set (gh needs it on a runner)")
    state_file = Path(os.environ["GH_SHIM_STATE"])
    state: dict[str, Any] = json.loads(state_file.read_text())
    method, endpoint, jq, fields = parse(sys.argv[1:])
    state["calls"].append({"method": method, "endpoint": endpoint, "fields": fields})
    repo = os.environ["GITHUB_REPOSITORY"]
    listing = re.fullmatch(rf"repos/{re.escape(repo)}/issues/(\d+)/comments", endpoint)
    single = re.fullmatch(rf"repos/{re.escape(repo)}/issues/comments/(\d+)", endpoint)
    answer: Any
    if listing and method == "GET":
        answer = [c for c in state["comments"] if c["issue"] == int(listing[1])]
    elif listing and method == "POST":
        comment = {"id": 1000 + len(state["comments"]), "issue": int(listing[1]),
                   "user": {"login": BOT}, "body": fields["body"]}
        state["comments"].append(comment)
        answer = comment
    elif single and method == "PATCH":
        comment = next((c for c in state["comments"] if c["id"] == int(single[1])), None)
        if comment is None:
            fail(f"no comment {single[1]}")
        assert comment is not None
        comment["body"] = fields["body"]
        answer = comment
    else:
        fail(f"{method} {endpoint} is not emulated")
    state_file.write_text(json.dumps(state, indent=2))
    text = json.dumps(answer)
    if jq is not None:
        done = subprocess.run(["jq", "-r", jq], input=text, capture_output=True, text=True,
                              check=False)
        if done.returncode:
            fail(f"jq failed: {done.stderr.strip()}")
        text = done.stdout
    sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")


if __name__ == "__main__":
    main()
