"""The pure diff: desired Vercel variables + observed records → ordered ``Change`` list.

Data in, data out: no I/O, no key material (fingerprints arrive precomputed). Rules:

- One Vercel record per (key, target set). A desired record pairs with the live record of
  the same key and exactly the same targets; a live record of the same key whose targets
  only overlap is *absorbed* (deleted, then the record is created with the new targets),
  because Vercel refuses overlapping targets for one key (400 ``ENV_CONFLICT``).
- Only records whose marker names owner ``vercel`` and this converge project are ours.
  Anything else in the way (no marker, another project's, a published value) is a
  ``conflict``; with ``adopt`` (or the variable's own ``adopt`` flag, from project.yaml's
  ``adopt:``) an unmarked record with exactly the same key and targets is taken over
  (``adopt``). Ours that are no longer declared are deleted.
- Values: public literals are compared as plaintext; server references by keyed
  fingerprint (the marker's ``fp``) when their value is knowable at plan time, which
  needs nothing but the vendor's record and the team's key. A fingerprint written under
  another key (the marker's ``kid`` is not this run's) cannot be compared: the value is
  reported as *unverifiable (fingerprint key differs)*, never as changed, and nothing is
  re-sent for it. A client secret cannot be read back, so it is in sync when the
  reference digest and ``rot`` in the marker match and, when the journal recorded the
  record's change marker at the last apply, that marker has not moved; a moved one means
  the value was replaced outside converge, and it is re-sent (re-minted). Without a
  journal marker (a fresh clone, a fresh state) a client secret is *unverifiable*,
  never changed: the journal only adds what the vendor cannot say.
- A raised (or otherwise changed) ``rotate: N`` or reference re-sends the value,
  re-minting a client secret, whatever the key.

``desired["mode"]`` tells apply how to write: ``create`` (batched POST), ``upsert``
(batched POST ``upsert=true`` over the exact record), ``replace`` (delete ``replaces``,
confirm, then create: type changes and target changes, which Vercel does not allow in
place for sensitive values), ``comment`` (PATCH the comment only) or ``delete``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from converge.changes import SENSITIVE, Action, Change, FieldDiff, order_changes
from converge.changes import change_key as object_key
from converge.desired import DesiredVariable, DesiredVercel
from converge.vendors.base import Note
from converge.vendors.vercel.observe import (
    ObservedVariable,
    is_client_secret,
    record_name,
    wire_type,
)
from converge.vendors.vercel.ownership import key_differs_reason, ref_digest

SYSTEM = "vercel"
KIND = "env"
STAGE = 1
OWNER = "vercel"


@dataclass(frozen=True)
class EnvDiff:
    changes: tuple[Change, ...]
    notes: tuple[Note, ...]


def change_key(name: str) -> str:
    return object_key(SYSTEM, KIND, name)


def label_for(key: str, targets: Sequence[str], *, public: bool) -> str:
    """``NEXT_PUBLIC_API_URL (production)`` for public records; the key for server ones
    (the brief prints ``✓ INFISICAL_CLIENT_ID is a reference (good)``)."""
    return f"{key} ({', '.join(sorted(targets))})" if public else key


def _detail(variable: DesiredVariable) -> str:
    targets = ", ".join(sorted(variable.targets))
    if variable.kind == "public":
        return ""
    return f"reference {variable.ref} -> {targets}"


def _desired_payload(
    variable: DesiredVariable, *, team: str | None, project: str, mode: str,
    replaces: Sequence[str] = (), fingerprint: str = "", client_secret_id: str = "",
    fingerprint_key_id: str = "",
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "team": team,
        "project": project,
        "key": variable.key,
        "kind": variable.kind,
        "targets": sorted(variable.targets),
        "type": wire_type(variable),
        "rotate": variable.rotate,
        "comment": variable.comment,
        "mode": mode,
        "replaces": list(replaces),
    }
    if variable.kind == "public":
        payload["value"] = variable.value
    else:
        payload["ref"] = variable.ref
    if fingerprint:
        payload["fingerprint"] = fingerprint
    if fingerprint_key_id:
        payload["fingerprint_key_id"] = fingerprint_key_id
    if client_secret_id:
        payload["client_secret_id"] = client_secret_id
    return payload


@dataclass(frozen=True)
class _ChangeMaker:
    """Builds the changes of one desired record (same name, label and payload basis)."""

    variable: DesiredVariable
    name: str
    label: str
    detail: str
    team: str | None
    project: str

    def __call__(
        self, action: Action, mode: str, diffs: Sequence[FieldDiff], reason: str, *,
        current: str | None = None, replaces: Sequence[str] = (), fp: str = "", cs: str = "",
        kid: str = "",
    ) -> Change:
        return Change(
            system=SYSTEM, kind=KIND, name=self.name, action=action, stage=STAGE,
            diffs=tuple(diffs),
            desired=_desired_payload(self.variable, team=self.team, project=self.project,
                                     mode=mode, replaces=replaces, fingerprint=fp,
                                     client_secret_id=cs, fingerprint_key_id=kid),
            current_id=current, reason=reason, label=self.label, detail=self.detail,
        )


def _overlaps(record: ObservedVariable, variable: DesiredVariable) -> bool:
    return (
        record.key == variable.key
        and record.general
        and bool(set(record.targets) & set(variable.targets))
    )


UNVERIFIABLE_WRITE_ONLY = (
    "unverifiable (write-only): Vercel never shows the value, and this state recorded no "
    "change marker for it at an apply"
)
UNVERIFIABLE_UNRESOLVED = (
    "unverifiable (reference not readable yet): its value cannot be fingerprinted at "
    "plan time"
)
REPLACED = "value differs or was replaced outside converge"
NO_KEY_ID = (
    "value differs, or was fingerprinted with another key before fingerprint key ids "
    "(the marker has none): re-sent once to record one"
)


def _value_diffs(
    variable: DesiredVariable,
    record: ObservedVariable,
    *,
    name: str,
    fingerprints: Mapping[str, str],
    markers: Mapping[str, str],
    key_id: str,
) -> tuple[list[FieldDiff], str | None, str]:
    """Field diffs of a record we own, a note when its value cannot be verified, and the
    reason a value diff has (see the module doc for the order of the checks)."""
    assert record.ownership is not None
    own = record.ownership
    diffs: list[FieldDiff] = []
    if variable.kind == "public":
        if record.type == "plain" and record.value != variable.value:
            diffs.append(FieldDiff("value", record.value, variable.value))
        return diffs, None, ""
    if own.ref != ref_digest(variable.ref):
        diffs.append(FieldDiff("ref", f"(digest {own.ref})", variable.ref))
    if own.rot != variable.rotate:
        diffs.append(FieldDiff("rotate", own.rot, variable.rotate))
    if diffs:
        return diffs, None, ""  # re-sent whatever its value: nothing more to compare
    recorded = markers.get(change_key(name))
    if recorded is not None and recorded != record.marker:
        return [FieldDiff("value", SENSITIVE, SENSITIVE)], None, REPLACED
    if own.key_differs(key_id):
        if recorded is not None and is_client_secret(variable.ref):
            return [], None, ""  # untouched since this state's apply: in sync
        return [], key_differs_reason(own.kid, key_id), ""
    expected = fingerprints.get(name)
    if expected is not None:
        if expected == own.fp:
            return [], None, ""
        return [FieldDiff("value", SENSITIVE, SENSITIVE)], None, (
            REPLACED if own.kid else NO_KEY_ID)
    if recorded is not None:
        return [], None, ""
    return [], (
        UNVERIFIABLE_WRITE_ONLY if is_client_secret(variable.ref) else UNVERIFIABLE_UNRESOLVED
    ), ""


def diff_env_vars(
    desired: DesiredVercel,
    observed: Sequence[ObservedVariable],
    *,
    project: str,
    fingerprints: Mapping[str, str],
    markers: Mapping[str, str],
    key_id: str,
    adopt: bool = False,
) -> EnvDiff:
    """The changes that make the project's live env vars match ``desired`` (see module doc).

    ``project`` is the converge project (owner of the markers), ``fingerprints`` maps a
    record name to the keyed fingerprint of its knowable desired value, ``markers`` maps a
    change key to the change marker the journal recorded at the last apply (empty on a
    fresh state: an optimisation, never needed to recognise or compare), ``key_id`` is
    the id of the key ``fingerprints`` were made with.
    """
    changes: list[Change] = []
    notes: list[Note] = []
    claimed: set[str] = set()
    team, vproject = desired.team, desired.project

    def ours(record: ObservedVariable) -> bool:
        return record.ownership is not None and record.ownership.owned_by(OWNER, project)

    for variable in sorted(desired.variables, key=lambda v: (v.key, sorted(v.targets))):
        name = record_name(variable.key, variable.targets)
        public = variable.kind == "public"
        label = label_for(variable.key, variable.targets, public=public)
        detail = _detail(variable)
        send_type = wire_type(variable)
        overlapping = [r for r in observed if _overlaps(r, variable)]
        exact = [r for r in overlapping if set(r.targets) == set(variable.targets)]
        foreign = [r for r in overlapping if not ours(r)]
        claimed.update(r.id for r in overlapping)

        change = _ChangeMaker(variable, name=name, label=label, detail=detail, team=team,
                              project=vproject)

        if foreign:
            blocker = foreign[0]
            adoptable = (
                (adopt or variable.adopt) and len(overlapping) == 1 and exact
                and blocker.ownership is None
            )
            if adoptable:
                mode = "upsert" if blocker.type == send_type else "replace"
                changes.append(change(
                    Action.ADOPT, mode,
                    [FieldDiff("comment", blocker.user_comment or None, "converge:managed")],
                    "an unmanaged variable with this key and targets exists; adopting it",
                    current=blocker.id, replaces=[blocker.id] if mode == "replace" else (),
                ))
            else:
                whose = (
                    "managed by another converge project or reconciler"
                    if blocker.ownership is not None else "not managed by converge"
                )
                how = (
                    f"list vercel/{variable.key} under adopt: in project.yaml (or pass "
                    "--adopt) to take it over" if blocker.ownership is None and exact
                    and len(overlapping) == 1
                    else "remove it or change its targets in Vercel"
                )
                changes.append(change(
                    Action.CONFLICT, "none",
                    [FieldDiff("targets", list(blocker.targets), sorted(variable.targets))],
                    f"{blocker.key} ({', '.join(blocker.targets)}) is {whose}; {how}",
                    current=blocker.id,
                ))
            continue

        if not overlapping:
            changes.append(change(
                Action.CREATE, "create",
                [
                    FieldDiff("value", None, variable.value if public else SENSITIVE),
                    FieldDiff("targets", None, sorted(variable.targets)),
                    FieldDiff("type", None, send_type),
                ],
                "missing in Vercel",
            ))
            continue

        if not exact:
            changes.append(change(
                Action.UPDATE, "replace",
                [FieldDiff("targets", sorted({t for r in overlapping for t in r.targets}),
                           sorted(variable.targets))],
                "targets changed: the record is re-created with the new targets",
                current=overlapping[0].id, replaces=[r.id for r in overlapping],
            ))
            continue

        record = exact[0]
        assert record.ownership is not None
        diffs: list[FieldDiff] = []
        if record.type != send_type:
            diffs.append(FieldDiff("type", record.type, send_type))
        if record.user_comment != (variable.comment or "").strip():
            diffs.append(FieldDiff("comment", record.user_comment or None, variable.comment))
        value_diffs, note, why = _value_diffs(
            variable, record, name=name, fingerprints=fingerprints, markers=markers,
            key_id=key_id,
        )
        diffs.extend(value_diffs)
        if note is not None:  # named with its targets: one key may have several records
            notes.append(Note(change_key(name), label_for(variable.key, variable.targets,
                                                          public=True), note))
        if not diffs:
            continue
        fields = {d.field for d in diffs}
        if "type" in fields:
            mode, replaces = "replace", [record.id]
        elif fields == {"comment"}:
            mode, replaces = "comment", []
        else:
            mode, replaces = "upsert", []
        reason = (
            "rotation requested" if "rotate" in fields
            else "reference changed" if "ref" in fields
            else why
            if "value" in fields and not public
            else "differs from the desired state"
        )
        changes.append(change(
            Action.UPDATE, mode, diffs, reason, current=record.id, replaces=replaces,
            fp=record.ownership.fp, cs=record.ownership.cs, kid=record.ownership.kid,
        ))

    for record in observed:
        if record.id in claimed or not ours(record):
            continue
        public = record.type == "plain"
        name = record_name(record.key, record.targets)
        changes.append(Change(
            system=SYSTEM, kind=KIND, name=name, action=Action.DELETE, stage=STAGE,
            diffs=(FieldDiff("targets", list(record.targets), None),),
            desired={"key": record.key, "targets": list(record.targets), "mode": "delete",
                     "team": team, "project": vproject, "replaces": [record.id]},
            current_id=record.id,
            reason="managed by converge and no longer declared",
            label=label_for(record.key, record.targets, public=public),
        ))
    return EnvDiff(changes=order_changes(changes), notes=tuple(notes))
