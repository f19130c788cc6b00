"""After a SIGKILL during Vercel's batched writes, the journal's record of what converge
owns matches what Vercel holds with converge's marker once the next apply has run, and
that apply converges without duplicating anything (issue 8, item 10).

Each round switches the project to a new set of public variables (four created in one
batched POST, the previous round's four deleted one by one with a confirming read), starts
``converge apply journal`` as a subprocess against a sandbox whose Vercel answers slowly,
and kills it a seeded number of milliseconds after Vercel's first write: after the create
batch landed but before its results were journaled, between a delete and its record, or
later. The next apply must settle the killed run's open intents against what it observes
before it diffs: a created variable found with converge's marker becomes managed with its
id, a delete whose variable is gone is confirmed and forgotten.
"""

from __future__ import annotations

import collections
import random
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest

from converge.engine.journal import open_journal
from converge.vendors.vercel.ownership import parse_comment
from tests.e2e.conftest import CONVERGE, E2E, base_env, start_e2e

pytestmark = pytest.mark.integration

VERCEL_FILE = "data/platforms/vercel/journal.yaml"
SEEDS = (1, 2, 3, 4, 5)
PER_ROUND = 4


@pytest.fixture(scope="module")
def slow_vercel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2E]:
    harness = start_e2e(tmp_path_factory.mktemp("kill") / "ws", projects=("journal",),
                        faults="latency=50ms,vendor=vercel")
    try:
        first = harness.cli("apply", "journal")
        assert first.exit_code == 0, first.output
        yield harness
    finally:
        harness.sandbox.stop()


def declare_round(e2e: E2E, seed: int) -> None:
    """This round's public variables replace the previous round's; decide and render."""
    path = e2e.root / VERCEL_FILE
    text = path.read_text()
    head, marker, rest = text.partition("server:")
    kept = [line for line in head.splitlines(keepends=True)]
    # Drop the previous round's variables (each is two lines after its key line).
    lines: list[str] = []
    skip = 0
    for line in kept:
        if skip:
            skip -= 1
            continue
        if line.startswith("  NEXT_PUBLIC_ROUND_"):
            skip = 2
            continue
        lines.append(line)
    lines += [
        f"  NEXT_PUBLIC_ROUND_{seed}_{n}:\n    value: round-{seed}-value-{n}\n"
        "    environments: [prod]\n"
        for n in range(PER_ROUND)
    ]
    path.write_text("".join(lines) + marker + rest)
    for step in ("decide", "render"):
        result = e2e.cli(step, "journal")
        assert result.exit_code == 0, result.output


def kill_during_vercel_writes(e2e: E2E, delay: float) -> None:
    log = e2e.sandbox.request_log
    log.reset()
    proc = subprocess.Popen(
        [str(CONVERGE), "--workspace", str(e2e.root), "apply", "journal"],
        env=base_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while log.write_count("vercel") < 1:
            assert proc.poll() is None, "apply finished before its first Vercel write"
            assert time.monotonic() < deadline, "apply made no Vercel write"
            time.sleep(0.002)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(10)


def managed_in_journal(e2e: E2E) -> dict[str, str | None]:
    journal = open_journal(".converge/state.db", e2e.root)
    try:
        return {m.name: m.vendor_id for m in journal.managed_objects("journal", "vercel")}
    finally:
        journal.close()


def marked_in_vercel(e2e: E2E) -> dict[str, str]:
    """Record name -> id of the Vercel variables that carry this project's vercel marker."""
    found: dict[str, str] = {}
    for record in e2e.vercel_envs("journal-web"):
        _, ownership = parse_comment(record.get("comment"))
        if ownership is not None and ownership.owned_by("vercel", "journal"):
            name = f"{record['key']}@{'+'.join(sorted(set(record['target'])))}"
            found[name] = str(record["id"])
    return found


@pytest.mark.parametrize("seed", SEEDS)
def test_journal_matches_vercel_after_a_kill_during_batched_writes(
    slow_vercel: E2E, seed: int
) -> None:
    declare_round(slow_vercel, seed)
    kill_during_vercel_writes(slow_vercel, random.Random(seed).uniform(0.0, 0.6))

    resumed = slow_vercel.cli("apply", "journal")

    assert resumed.exit_code == 0, resumed.output
    assert managed_in_journal(slow_vercel) == marked_in_vercel(slow_vercel)
    records = collections.Counter(
        (e["key"], tuple(sorted(e["target"]))) for e in slow_vercel.vercel_envs("journal-web")
    )
    assert [r for r, n in records.items() if n > 1] == []
    assert {k for k, _ in records if k.startswith("NEXT_PUBLIC_ROUND_")} == {
        f"NEXT_PUBLIC_ROUND_{seed}_{n}" for n in range(PER_ROUND)
    }
    again = slow_vercel.cli("plan", "journal")
    assert again.exit_code == 0, again.output
    status = slow_vercel.cli("status", "journal")
    assert "unfinished" not in status.stdout, status.stdout
