"""Performing one Supabase change (I/O). Each is safe to repeat after a crash:

- ``auth``: one ``PATCH /config/auth`` with only the differing fields; secret references
  are resolved here (``mint=False``) and sent straight to the vendor. If the response is
  lost, the config is read back and the PATCH is not re-sent when it had landed. The
  answer is checked: a field the vendor did not keep is an error, not a silent drift.
- ``postgrest``: one ``PATCH /postgrest`` with ``db_schema`` alone (the other Data API
  settings are not converge's). A lost response is re-observed like auth's; the answer
  must show exactly the schemas sent (as a set, as the diff compares them).
- ``rls``: ``ALTER TABLE … ENABLE ROW LEVEL SECURITY`` (idempotent), identifiers quoted.
- ``publish``: the anon key (checked again: role ``anon`` only) or the project URL, handed
  to the ``VariablePublisher``; the journal marker is ``<fingerprint>|<value digest>``
  (a record of what was sent: the next plan compares at the vendor, not with it).

Nothing here deletes anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from converge.changes import Change
from converge.errors import ConvergeError, VendorError
from converge.vendors.base import AppliedChange, ReferenceResolver, VariablePublisher
from converge.vendors.supabase.auth_fields import same_value
from converge.vendors.supabase.client import SupabaseClient
from converge.vendors.supabase.credentials import VENDOR
from converge.vendors.supabase.diff import AUTH, POSTGREST, PUBLISH, RLS, publish_marker
from converge.vendors.supabase.observe import read_anon_key, secret_fingerprint, value_digest
from converge.vendors.supabase.sql import enable_rls
from converge.vendors.supabase.wire import PostgrestConfig


@dataclass
class ApplyContext:
    client: SupabaseClient
    resolver: ReferenceResolver | None
    publisher: VariablePublisher | None
    project_url: Callable[[str], str]
    anon_keys: dict[str, str] = field(default_factory=dict)  # ref → checked anon key
    on_auth: Callable[[str, Mapping[str, Any]], None] = lambda ref, config: None
    on_rls: Callable[[str, str, str], None] = lambda ref, schema, table: None
    on_postgrest: Callable[[str, PostgrestConfig], None] = lambda ref, config: None


def _kept(config: Mapping[str, Any], ref: str, values: Mapping[str, Any],
          secret_fps: Mapping[str, str]) -> list[str]:
    """The fields of a PATCH that ``config`` does not show as sent."""
    missing = [f for f, v in values.items() if not same_value(f, config.get(f), v)]
    missing += [f for f, fp in secret_fps.items() if config.get(f) != fp]
    return sorted(missing)


def apply_auth(ctx: ApplyContext, change: Change) -> AppliedChange:
    ref = str(change.desired["ref"])
    values: dict[str, Any] = dict(change.desired["values"])
    references: Mapping[str, str] = change.desired["secrets"]
    body = dict(values)
    secret_fps: dict[str, str] = {}
    for name, reference in references.items():
        if ctx.resolver is None:
            raise ConvergeError(f"supabase cannot set {name} on {ref}: no reference resolver",
                                hint="run apply through the engine, which wires Infisical")
        value = ctx.resolver.resolve(reference, mint=False)
        body[name] = value
        secret_fps[name] = secret_fingerprint(ref, value)

    def reobserve() -> dict[str, Any] | None:
        config = ctx.client.get_auth_config(ref)
        return config if not _kept(config, ref, values, secret_fps) else None

    config = ctx.client.patch_auth_config(ref, body, reobserve=reobserve)
    missing = _kept(config, ref, values, secret_fps)
    if missing:
        raise VendorError(
            f"supabase did not keep {', '.join(missing)} in the auth config of {ref}",
            vendor=VENDOR, request=f"PATCH /v1/projects/{ref}/config/auth",
            hint="the setting may need a plan feature; check the project in Supabase",
        )
    ctx.on_auth(ref, config)
    return AppliedChange(vendor_id=ref, marker=str(change.desired["marker"]),
                         note=f"{len(body)} auth field(s) set")


def apply_postgrest(ctx: ApplyContext, change: Change) -> AppliedChange:
    ref = str(change.desired["ref"])
    schemas = [str(name) for name in change.desired["schemas"]]
    db_schema = ",".join(schemas)  # for messages; the client joins (and checks) what it sends
    wanted = set(schemas)

    def reobserve() -> PostgrestConfig | None:
        config = ctx.client.get_postgrest_config(ref)
        return config if set(config.schemas) == wanted else None

    config = ctx.client.patch_postgrest_config(ref, schemas, reobserve=reobserve)
    if set(config.schemas) != wanted:
        raise VendorError(
            f"supabase did not keep the exposed schemas {db_schema or '(none)'} of {ref}",
            vendor=VENDOR, request=f"PATCH /v1/projects/{ref}/postgrest",
            hint="check the project's Data API settings in Supabase",
        )
    ctx.on_postgrest(ref, config)
    return AppliedChange(vendor_id=ref, note=f"exposed schemas: {db_schema or '(none)'}")


def apply_rls(ctx: ApplyContext, change: Change) -> AppliedChange:
    ref = str(change.desired["ref"])
    schema, table = str(change.desired["schema"]), str(change.desired["table"])
    ctx.client.run_sql(ref, enable_rls(schema, table))
    ctx.on_rls(ref, schema, table)
    return AppliedChange(vendor_id=f"{schema}.{table}", note="row-level security enabled")


def anon_key(ctx: ApplyContext, ref: str) -> str:
    if ref not in ctx.anon_keys:
        ctx.anon_keys[ref] = read_anon_key(ctx.client, ref)
    return ctx.anon_keys[ref]


def publish_value(ctx: ApplyContext, source: str, ref: str) -> str:
    return anon_key(ctx, ref) if source == "anon_key" else ctx.project_url(ref)


def apply_publish(ctx: ApplyContext, change: Change) -> AppliedChange:
    if ctx.publisher is None:
        raise ConvergeError("supabase has values to publish but no Vercel publisher",
                            hint="declare the project's Vercel settings, or stop publishing")
    key, ref = str(change.desired["key"]), str(change.desired["ref"])
    value = publish_value(ctx, str(change.desired["from"]), ref)
    fp = ctx.publisher.publish(key, value, targets=list(change.desired["targets"]),
                               sensitive=False)
    digest = value_digest(ref=ref, key=key, value=value)
    return AppliedChange(vendor_id=key, marker=publish_marker(fp, digest), fingerprint=fp,
                         note=f"published to {', '.join(change.desired['targets'])}")


def apply_change(ctx: ApplyContext, change: Change) -> AppliedChange:
    if change.kind == AUTH:
        return apply_auth(ctx, change)
    if change.kind == POSTGREST:
        return apply_postgrest(ctx, change)
    if change.kind == RLS:
        return apply_rls(ctx, change)
    if change.kind == PUBLISH:
        return apply_publish(ctx, change)
    raise ConvergeError(f"supabase cannot apply a change of kind {change.kind!r}")
