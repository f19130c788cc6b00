"""Characters a value bound for browsers may not hold: controls, line breaks, bidi
controls and invisible format characters.

Why: a ``NEXT_PUBLIC_*`` value is inlined into JavaScript and HTML. A NUL or a line break
can cut or inject a line (a header, a log entry, a config file built from it); bidi
controls (U+202A–U+202E, U+2066–U+2069, U+200E/F, U+061C) make text display in another
order than it runs (``https://acme.example/\u202egnp.exe``); zero-width and other format
characters hide what a value really holds and split secrets past detectors. None of
them belongs in a public setting, so each is reported by name and code point -- never by
showing the value. The one exception is U+200D (zero-width joiner) between two symbols,
which emoji sequences such as 👩‍💻 need.
"""

from __future__ import annotations

import unicodedata

BIDI_CONTROLS = frozenset(
    [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
)
LINE_BREAKS = frozenset([0x0A, 0x0B, 0x0C, 0x0D, 0x2028, 0x2029])
ZERO_WIDTH_JOINER = 0x200D


def find_unsafe_characters(value: str) -> list[str]:
    """Each kind of unsafe character in ``value`` with its first code point, e.g.
    ``bidi control (U+202E)``; sorted, without duplicates, empty when the value is clean."""
    found: dict[str, str] = {}
    for index, char in enumerate(value):
        kind = _kind(value, index, char)
        if kind is not None and kind not in found:
            found[kind] = f"{kind} (U+{ord(char):04X})"
    return sorted(found.values())


def describe_unsafe(value: str) -> str | None:
    """The unsafe characters as one phrase (``a NUL (U+0000) and a line break (…)``)."""
    kinds = find_unsafe_characters(value)
    if not kinds:
        return None
    return " and ".join(f"a {kind}" for kind in kinds)


def _kind(value: str, index: int, char: str) -> str | None:
    code = ord(char)
    if code == 0:
        return "NUL"
    if code in LINE_BREAKS:
        return "line break"
    if code in BIDI_CONTROLS:
        return "bidi control"
    category = unicodedata.category(char)
    if category == "Cc":
        return "control character"
    if category in ("Cf", "Cs", "Co"):
        if code == ZERO_WIDTH_JOINER and _joins_symbols(value, index):
            return None
        return "invisible format character" if category == "Cf" else "non-character"
    return None


def _joins_symbols(value: str, index: int) -> bool:
    """Whether the joiner at ``index`` sits between two symbols (an emoji sequence)."""
    if index == 0 or index == len(value) - 1:
        return False
    before, after = value[index - 1], value[index + 1]
    return unicodedata.category(before) in ("So", "Sk", "Mn") and unicodedata.category(
        after
    ) in ("So", "Sk")
