"""The cases of the hostile-input corpus, grouped by the issue item they come from.

Line numbers refer to ``examples/workspace`` as committed; a case that edits a file states
where the error must point in the edited file.
"""

from __future__ import annotations

from tests.hostile.corpus import (
    OUTSIDE,
    HostileCase,
    Remove,
    Replace,
    Symlink,
)

SETTINGS = "converge.yaml"
OUT_KEY = f"{SETTINGS}:4:1"
STATE_KEY = f"{SETTINGS}:3:1"
POLICIES_KEY = f"{SETTINGS}:5:1"
AUDIT_KEY = f"{SETTINGS}:6:1"
ESCAPES = "outside the workspace"

# --- issue 8 item 1: every path in converge.yaml stays inside the workspace ------------------

PATHS = [
    HostileCase("out-parent", "8.1", (Replace(SETTINGS, "out: .out", "out: ../outside"),),
                OUT_KEY, ESCAPES, command=("decide", "journal")),
    HostileCase("out-parent-render", "8.1", (Replace(SETTINGS, "out: .out", "out: ../outside"),),
                OUT_KEY, ESCAPES, command=("render", "journal")),
    HostileCase("out-absolute", "8.1", (Replace(SETTINGS, "out: .out", f"out: {OUTSIDE}"),),
                OUT_KEY, ESCAPES, command=("decide", "journal")),
    HostileCase("out-dotdot-inside", "8.1",
                (Replace(SETTINGS, "out: .out", "out: projects/../../outside"),),
                OUT_KEY, ESCAPES, command=("decide", "journal")),
    HostileCase("out-symlink", "8.1", (Symlink(".out", "../outside"),),
                OUT_KEY, ESCAPES, command=("decide", "journal")),
    HostileCase("out-project-symlink", "8.1", (Symlink(".out/journal", "../../outside/journal"),),
                ".out/journal", ESCAPES, command=("decide", "journal")),
    HostileCase("out-is-workspace", "8.1", (Replace(SETTINGS, "out: .out", "out: ."),),
                OUT_KEY, "folder of its own", command=("decide", "journal")),
    HostileCase("out-inside-inputs", "8.1",
                (Replace(SETTINGS, "out: .out", "out: data/infisical"),),
                OUT_KEY, "folder of its own", command=("decide", "journal")),
    HostileCase("audit-log-parent", "8.1",
                (Replace(SETTINGS, "audit_log: reconciliation.log",
                         "audit_log: ../outside/x.log"),),
                AUDIT_KEY, ESCAPES),
    HostileCase("audit-log-absolute", "8.1",
                (Replace(SETTINGS, "audit_log: reconciliation.log",
                         f"audit_log: {OUTSIDE}/x.log"),),
                AUDIT_KEY, ESCAPES),
    HostileCase("audit-log-symlink", "8.1", (Symlink("reconciliation.log", "../outside/x.log"),),
                AUDIT_KEY, ESCAPES),
    HostileCase("state-parent", "8.1",
                (Replace(SETTINGS, "state: .converge/state.db", "state: ../outside/state.db"),),
                STATE_KEY, ESCAPES),
    HostileCase("state-folder-symlink", "8.1", (Symlink(".converge", "../outside"),),
                STATE_KEY, ESCAPES),
    HostileCase("policies-parent", "8.1",
                (Replace(SETTINGS, "policies: policies", "policies: ../outside"),),
                POLICIES_KEY, ESCAPES, command=("decide", "journal")),
    HostileCase("policies-folder-symlink", "8.1", (Symlink("policies", "../outside"),),
                POLICIES_KEY, ESCAPES, command=("decide", "journal")),
]

# --- issue 8 item 8: policy loading ---------------------------------------------------------

POLICIES = [
    HostileCase("policies-missing", "8.8a",
                (Replace(SETTINGS, "policies: policies", "policies: no-such-dir"),),
                POLICIES_KEY, "does not exist", command=("decide", "journal")),
    HostileCase("policies-missing-default-folder", "8.8a", (Remove("policies"),),
                POLICIES_KEY, "does not exist", command=("decide", "journal")),
    HostileCase("policies-is-a-file", "8.8a",
                (Replace(SETTINGS, "policies: policies", "policies: converge.yaml"),),
                POLICIES_KEY, "is not a folder", command=("decide", "journal")),
    HostileCase("rego-symlink-outside", "8.8b",
                (Symlink("policies/evil.rego", "../../outside/evil.rego"),),
                "policies/evil.rego", ESCAPES, command=("decide", "journal")),
    HostileCase("rego-symlink-absolute", "8.8b",
                (Symlink("policies/owners.rego", f"{OUTSIDE}/evil.rego"),),
                "policies/owners.rego", ESCAPES, command=("decide", "journal")),
]

CASES: list[HostileCase] = [*PATHS, *POLICIES]
