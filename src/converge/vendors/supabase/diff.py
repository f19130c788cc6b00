"""The pure diff: desired Supabase settings + what observe read → ordered ``Change`` list.

Data in, data out: no I/O, no secret values (secret HMACs and published-value digests
arrive precomputed). Rules:

- ``auth``: one change per project ref holding only the fields that differ, compared
  through ``auth_fields.same_value``. A secret field is in sync when the vendor's HMAC
  equals the HMAC of the desired value; when that value cannot be read at plan time, a
  set secret is reported as a ``Note`` (unverifiable), never as changed, and an unset one
  is planned. A ``rotate: N`` that moved since the last apply (journal marker
  ``rotate:<field>=N,…``) re-sends the secret.
- ``postgrest``: one change per project ref whose exposed schemas (``db_schema``, a comma
  list) are not exactly the declared ``api.schemas``. They compare as **sets** of trimmed
  names: the rendered artifact sorts ``api.schemas``, so the declared order carries no
  intent, and PostgREST's order matters only for its default schema (the first). The
  value sent keeps the live schemas that stay, in the live order (the default stays the
  default), then adds the new ones, ``public`` first when the live default is gone; see
  ``exposed_order``. An undeclared exposed schema could be reached without the RLS
  checked below, so it is removed, never tolerated.
- ``rls``: one change per table of a declared schema whose ``relrowsecurity`` is false,
  only when ``rls_enforce`` is true. RLS is never turned off.
- ``publish``: one change per published key the publisher finds missing or different
  at the vendor (``VariablePublisher.compare``: the value itself when Vercel shows it,
  else the keyed fingerprint in its marker); one that cannot be compared (written under
  another fingerprint key) is a ``Note``, never a change. No journal marker is needed.

Nothing is ever deleted: auth fields are settings, RLS only ever goes on, and published
variables belong to the Vercel side.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from converge.changes import SENSITIVE, Action, Change, FieldDiff, order_changes
from converge.changes import change_key as object_key
from converge.desired import DesiredSupabase, SupabaseProjectRef
from converge.errors import ConvergeError
from converge.vendors.base import Note, PublishedState
from converge.vendors.supabase.auth_fields import AuthSettings, display, same_value
from converge.vendors.supabase.observe import ObservedProject

SYSTEM = "supabase"
AUTH, POSTGREST, RLS, PUBLISH = "auth", "postgrest", "rls", "publish"
# A newly exposed schema gets its RLS changes (stage 3) in the same plan, after it is
# exposed; the policy ``supabase.rls`` already makes every exposed schema an RLS schema.
STAGES: Mapping[str, int] = {AUTH: 1, POSTGREST: 2, RLS: 3, PUBLISH: 4}
SOURCES = ("url", "anon_key")


@dataclass(frozen=True)
class SupabaseDiff:
    changes: tuple[Change, ...]
    notes: tuple[Note, ...]


@dataclass(frozen=True)
class PublishItem:
    """One value to publish: ``source`` (``url`` or ``anon_key``) of project ``ref``."""

    key: str
    source: str
    ref: str
    targets: tuple[str, ...]


def change_key(kind: str, name: str) -> str:
    return object_key(SYSTEM, kind, name)


def where(project: SupabaseProjectRef) -> str:
    """``prod`` or ``prod (eu-west)``: how a ref is named for people."""
    return f"{project.environment} ({project.region})" if project.region else project.environment


def publish_items(desired: DesiredSupabase) -> tuple[PublishItem, ...]:
    """Each ``publish`` entry with the one project ref its environments point at."""
    items: list[PublishItem] = []
    for entry in desired.publish:
        key, source = str(entry["key"]), str(entry["from"])
        if source not in SOURCES:
            raise ConvergeError(f"supabase cannot publish {source!r} as {key}",
                                hint=f"publish one of: {', '.join(SOURCES)}")
        environments = entry.get("environments") or sorted(
            {p.environment for p in desired.projects})
        refs = sorted({p.ref for p in desired.projects if p.environment in environments})
        if len(refs) != 1:
            raise ConvergeError(
                f"supabase cannot tell which project's {source} to publish as {key}: "
                f"{len(refs)} project refs match environments {', '.join(environments)}",
                hint="publish from one project per environment",
            )
        items.append(PublishItem(key, source, refs[0], tuple(sorted(entry["targets"]))))
    return tuple(items)


def desired_keys(desired: DesiredSupabase, publish: Sequence[PublishItem]) -> frozenset[str]:
    """The change keys of the declared objects: each ref's auth settings and exposed
    schemas, each published key (tables are found by observing, see the reconciler)."""
    refs = [p.ref for p in desired.projects]
    return frozenset(
        [change_key(AUTH, ref) for ref in refs]
        + [change_key(POSTGREST, ref) for ref in refs]
        + [change_key(PUBLISH, item.key) for item in publish]
    )


def parse_rotations(marker: str | None) -> dict[str, int] | None:
    """``rotate:field=N,field=N`` → {field: N}; None when there is no such marker."""
    if not marker or not marker.startswith("rotate:"):
        return None
    found: dict[str, int] = {}
    for part in marker[len("rotate:"):].split(","):
        name, _, number = part.partition("=")
        if name and number.isdigit():
            found[name] = int(number)
    return found


def rotation_marker(settings: AuthSettings) -> str:
    return "rotate:" + ",".join(
        f"{name}={settings.secrets[name].rotate}" for name in sorted(settings.secrets)
    )


def publish_marker(fingerprint: str, digest: str) -> str:
    return f"{fingerprint}|{digest}"


def _diff_auth(
    project: SupabaseProjectRef,
    settings: AuthSettings,
    observed: ObservedProject,
    secret_fps: Mapping[str, str | None],
    marker: str | None,
) -> tuple[Change | None, list[Note]]:
    key = change_key(AUTH, project.ref)
    label = f"auth {project.ref}"
    diffs: list[FieldDiff] = []
    values: dict[str, object] = {}
    secrets: dict[str, str] = {}
    notes: list[Note] = []
    for field in sorted(settings.values):
        wanted, live = settings.values[field], observed.auth.get(field)
        if not same_value(field, live, wanted):
            diffs.append(FieldDiff(field, display(field, live), display(field, wanted)))
            values[field] = wanted
    rotations = parse_rotations(marker)
    for field in sorted(settings.secrets):
        setting = settings.secrets[field]
        live_fp = observed.auth.get(field) or None
        wanted_fp = secret_fps.get(field)
        rotated = rotations is not None and rotations.get(field, 0) != setting.rotate
        if wanted_fp is None and live_fp is not None and not rotated:
            notes.append(Note(key, label, f"unverifiable (reference not readable yet): {field} "
                                          f"holds {setting.reference}, not readable at plan "
                                          "time"))
            continue
        if rotated or live_fp is None or live_fp != wanted_fp:
            diffs.append(FieldDiff(field, SENSITIVE if live_fp else None, SENSITIVE))
            secrets[field] = setting.reference
    if not diffs:
        return None, notes
    change = Change(
        system=SYSTEM, kind=AUTH, name=project.ref, action=Action.UPDATE, stage=STAGES[AUTH],
        diffs=tuple(diffs),
        desired={"ref": project.ref, "values": values, "secrets": secrets,
                 "marker": rotation_marker(settings)},
        current_id=project.ref,
        reason=f"{len(diffs)} auth setting(s) differ",
        label=label, detail=f"project {project.ref}, {where(project)}",
    )
    return change, notes


def exposed_order(live: Sequence[str], declared: Sequence[str]) -> tuple[str, ...]:
    """The declared schemas in the order to send them: those already exposed keep their
    live order, then the others in declared order, with ``public`` moved first when the
    live default (the first live schema) is not kept."""
    wanted = dict.fromkeys(declared)
    kept = [name for name in dict.fromkeys(live) if name in wanted]
    added = [name for name in wanted if name not in kept]
    if not (kept and kept[0] == live[0]) and "public" in added:
        added.remove("public")
        return ("public", *kept, *added)
    return (*kept, *added)


def _diff_postgrest(
    project: SupabaseProjectRef, declared: Sequence[str], observed: ObservedProject
) -> Change | None:
    live = observed.postgrest.schemas
    if set(live) == set(declared):
        return None
    wanted = exposed_order(live, declared)
    extra = [name for name in live if name not in declared]
    missing = [name for name in wanted if name not in live]
    reasons = []
    if extra:
        reasons.append(f"{', '.join(extra)} exposed but not declared")
    if missing:
        reasons.append(f"{', '.join(missing)} declared but not exposed")
    return Change(
        system=SYSTEM, kind=POSTGREST, name=project.ref, action=Action.UPDATE,
        stage=STAGES[POSTGREST],
        diffs=(FieldDiff("db_schema", list(live), list(wanted)),),
        desired={"ref": project.ref, "schemas": list(wanted)},
        current_id=project.ref,
        reason="; ".join(reasons),
        label=f"postgrest {project.ref}",
        detail=f"exposed schemas of {project.ref}, {where(project)}",
    )


def _diff_rls(project: SupabaseProjectRef, observed: ObservedProject) -> list[Change]:
    changes: list[Change] = []
    for table in observed.tables or ():
        if table.rls:
            continue
        name = f"{table.schema_name}.{table.table_name}"
        changes.append(Change(
            system=SYSTEM, kind=RLS, name=f"{project.ref}/{name}", action=Action.UPDATE,
            stage=STAGES[RLS],
            diffs=(FieldDiff("row_level_security", False, True),),
            desired={"ref": project.ref, "schema": table.schema_name,
                     "table": table.table_name},
            current_id=name, reason="row-level security is off", label=name,
            detail=f"enable RLS on {name} ({project.ref}, {where(project)})",
        ))
    return changes


def _diff_publish(item: PublishItem, state: PublishedState) -> Change | Note | None:
    if state.status == "in_sync":
        return None
    if state.status == "unverifiable":
        return Note(change_key(PUBLISH, item.key), item.key, state.reason)
    exists = state.status != "missing"
    source = "anon key" if item.source == "anon_key" else "API URL"
    return Change(
        system=SYSTEM, kind=PUBLISH, name=item.key,
        action=Action.UPDATE if exists else Action.CREATE, stage=STAGES[PUBLISH],
        diffs=(FieldDiff("value", "(published)" if exists else None,
                         f"{source} of {item.ref}"),),
        desired={"key": item.key, "from": item.source, "ref": item.ref,
                 "targets": list(item.targets)},
        reason=state.reason or ("not published yet" if not exists
                                else "the published value is out of date"),
        label=item.key, detail=f"{source} of {item.ref} -> {', '.join(item.targets)}",
    )


def diff_supabase(
    desired: DesiredSupabase,
    settings: AuthSettings,
    observed: Mapping[str, ObservedProject],
    *,
    secret_fps: Mapping[str, Mapping[str, str | None]],
    publish: Sequence[PublishItem],
    published: Mapping[str, PublishedState],
    markers: Mapping[str, str],
    expected: Mapping[str, str] | None = None,
) -> SupabaseDiff:
    """Every change that brings the observed projects to ``desired``, in apply order.
    ``published`` is the publisher's verdict per published key, ``markers`` the journal's
    (only auth's rotation counters are read from it)."""
    changes: list[Change] = []
    notes: list[Note] = []
    for project in desired.projects:
        seen = observed[project.ref]
        auth, found = _diff_auth(project, settings, seen, secret_fps.get(project.ref, {}),
                                 markers.get(change_key(AUTH, project.ref)))
        notes.extend(found)
        if auth is not None:
            changes.append(auth)
        postgrest = _diff_postgrest(project, desired.exposed_schemas, seen)
        if postgrest is not None:
            changes.append(postgrest)
        if desired.rls_enforce:
            changes.extend(_diff_rls(project, seen))
    for item in publish:
        outcome = _diff_publish(item, published[item.key])
        if isinstance(outcome, Note):
            notes.append(outcome)
        elif outcome is not None:
            changes.append(outcome)
    return SupabaseDiff(order_changes(changes), tuple(notes))
