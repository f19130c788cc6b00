"""Drift ages in the journal's database: first seen kept while open, forgotten when
healed, other systems untouched."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from converge.engine.journal import open_journal
from converge.ops.drift_ages import SeenDrift, drift_ages, drift_first_seen, record_drift

KEY = "vercel/env/A@production"


def test_first_seen_is_kept_while_open_and_forgotten_when_healed(tmp_path: Path) -> None:
    with open_journal(".converge/state.db", tmp_path) as journal:
        seen = [SeenDrift("vercel", KEY, "value", "changed")]
        first = record_drift(journal, "p", systems=["vercel"], seen=seen,
                             now="2026-01-01T00:00:00.000000Z")
        again = record_drift(journal, "p", systems=["vercel"], seen=seen,
                             now="2026-01-01T01:00:00.000000Z")
        assert first == again == {(KEY, "value"): "2026-01-01T00:00:00.000000Z"}
        [age] = drift_ages(journal, "p", now=dt.datetime(2026, 1, 1, 2, tzinfo=dt.UTC))
        assert (age.age_seconds, age.last_seen) == (7200.0, "2026-01-01T01:00:00.000000Z")
        record_drift(journal, "p", systems=["vercel"], seen=[])
        assert drift_first_seen(journal, "p", KEY, "value") is None


def test_a_check_of_one_system_leaves_the_others_ages_alone(tmp_path: Path) -> None:
    with open_journal(".converge/state.db", tmp_path) as journal:
        record_drift(journal, "p", systems=["vercel", "supabase"], seen=[
            SeenDrift("vercel", KEY, "value", "changed"),
            SeenDrift("supabase", "supabase/auth/r", "jwt_exp", "changed"),
        ])
        record_drift(journal, "p", systems=["vercel"], seen=[])
        assert [a.system for a in drift_ages(journal)] == ["supabase"]
        assert drift_ages(journal, "other") == []
