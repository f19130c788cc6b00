"""Input models take values as written: no coercion between types (issue 8 item 5).

Before strict mode, ``jwt_exp: true`` was applied as a one-second expiry and ``"3600"``
silently became a number; a quoted ``"false"`` turned RLS off. Each case below is one
value of the wrong type; validation must refuse it at its ``file:line:column`` and name
the type it expected.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from converge.config.models import SupabaseFile, Waiver
from converge.errors import ConfigErrors
from tests.policies.helpers import load

SUPA = "data/platforms/supabase/journal.yaml"
IDS = "projects/journal/identities.yaml"
PROJECT = "projects/journal/project.yaml"
WAIVERS = "projects/journal/waivers.yaml"


def _edit(workspace: Path, rel: str, old: str, new: str) -> None:
    path = workspace / rel
    text = path.read_text()
    assert old in text, f"{old!r} not in {rel}"
    path.write_text(text.replace(old, new, 1))


CASES = [
    # (file, old text, new text, expected location (the key), expected words in the message)
    (SUPA, "jwt_exp: 3600", "jwt_exp: true", f"{SUPA}:2:3", "valid integer"),
    (SUPA, "jwt_exp: 3600", 'jwt_exp: "3600"', f"{SUPA}:2:3", "valid integer"),
    (SUPA, "jwt_exp: 3600", "jwt_exp: 3600.0", f"{SUPA}:2:3", "valid integer"),
    (SUPA, "enforce: true", 'enforce: "false"', f"{SUPA}:15:5", "valid boolean"),
    (SUPA, "enforce: true", "enforce: 0", f"{SUPA}:15:5", "valid boolean"),
    (SUPA, "disable_signup: false", 'disable_signup: "no"', f"{SUPA}:5:3", "valid boolean"),
    (SUPA, "password_min_length: 12", 'password_min_length: "12"', f"{SUPA}:7:3",
     "valid integer"),
    (SUPA, "client_id: Iv1.8a61f9b3a7aba766", "client_id: 12345", f"{SUPA}:11:7",
     "valid string"),
    (IDS, "access_token_ttl: 3600", 'access_token_ttl: "3600"', f"{IDS}:8:9",
     "valid integer"),
    (PROJECT, "description: Journaling", "description: 42 #", f"{PROJECT}:2:1",
     "valid string"),
    (WAIVERS, "expires: 2027-06-30", "expires: 1782777600", f"{WAIVERS}:5:5", "YYYY-MM-DD"),
]


@pytest.mark.parametrize(("rel", "old", "new", "where", "words"), CASES,
                         ids=[f"{c[0].split('/')[-1]}:{c[2]}" for c in CASES])
def test_a_value_of_the_wrong_type_is_refused_where_it_is(
    workspace: Path, rel: str, old: str, new: str, where: str, words: str
) -> None:
    _edit(workspace, rel, old, new)
    with pytest.raises(ConfigErrors) as caught:
        load(workspace, "journal")
    lines = [e.render() for e in caught.value.errors]
    assert any(line.startswith(where) and words in line for line in lines), lines


def test_values_of_the_right_type_still_validate(workspace: Path) -> None:
    inputs = load(workspace, "journal")
    assert inputs.supabase is not None and inputs.supabase.auth.jwt_exp == 3600
    assert inputs.waivers[0].expires == dt.date(2027, 6, 30)


def test_dates_must_be_written_as_iso_dates() -> None:
    waiver = {"rule": "supabase.rls", "resource": "r", "reason": "why not"}
    assert Waiver.model_validate({**waiver, "expires": "2027-06-30"}).expires == dt.date(
        2027, 6, 30)
    for wrong in ("27-06-30", "2027-06-31", "2027-06-30T00:00:00", 1782777600, True):
        with pytest.raises(ValueError, match="YYYY-MM-DD"):
            Waiver.model_validate({**waiver, "expires": wrong})


def test_the_models_do_not_coerce_when_built_from_python() -> None:
    with pytest.raises(ValueError, match="valid integer"):
        SupabaseFile.model_validate({"auth": {"jwt_exp": True}})
