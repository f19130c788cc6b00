"""Apply (I/O): perform planned env-var changes with as few requests as Vercel allows.

- Creates go out as one ``POST /v10/projects/{id}/env`` with an array body, updates of
  records whose key and targets already match as one more with ``upsert=true`` (Vercel
  overwrites only an exact key+targets+branch match, so an upsert never lands on a record
  converge did not plan to write). Creates do *not* upsert: a variable someone made in the
  meantime fails as ``ENV_ALREADY_EXISTS`` instead of being overwritten.
- A create whose response was lost is re-observed (list, match key + targets + our
  marker + the fingerprint of the value just sent) before it is sent again, so a retry
  never meets its own first attempt as a conflict.
- Replacements and deletions delete by id, then confirm by reading that the record is
  gone (two-phase delete, architecture §6); the engine keeps ownership until then.
- Values are resolved here, at apply time only: public literals are checked once more
  with the policies' secret detector (``public_value_check``) before anything is sent;
  references go through the ``ReferenceResolver`` (a client secret is minted, since it
  cannot be read back) straight into the request body. No value reaches a log, a
  ``Change``, an ``AppliedChange`` or an exception: those carry ids, markers and keyed
  fingerprints only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from converge.changes import Action, Change
from converge.errors import (
    ConvergeError,
    PolicyDenied,
    VendorAuthError,
    VendorConflictError,
    VendorError,
)
from converge.util.keyid import key_id
from converge.vendors.base import AppliedChange, ReferenceResolver
from converge.vendors.vercel.client import VENDOR, ProjectScope, VercelClient
from converge.vendors.vercel.observe import (
    change_marker,
    fingerprinted_value,
    is_client_secret,
)
from converge.vendors.vercel.ownership import (
    Ownership,
    compose_comment,
    fingerprint,
    parse_comment,
    ref_digest,
)
from converge.vendors.vercel.wire import CreateResult, EnvVar, FailedItem, NewEnvVar

PublicValueCheck = Callable[[str, str], "str | None"]
Outcome = AppliedChange | ConvergeError


@dataclass(frozen=True)
class ApplyContext:
    """What every write needs: where, as whom (marker owner and converge project), how
    values are resolved and fingerprinted, and the outbound secret check."""

    client: VercelClient
    scope: ProjectScope  # scoped by project id
    project: str
    owner: str
    resolver: ReferenceResolver | None
    fingerprint_key: bytes
    public_value_check: PublicValueCheck

    @property
    def key_id(self) -> str:
        """The id of ``fingerprint_key``, written beside every fingerprint (``kid``)."""
        return key_id(self.fingerprint_key)


@dataclass(frozen=True)
class Item:
    """One variable about to be sent: the body (holds the value) and its fingerprint."""

    body: NewEnvVar
    fp: str

    @property
    def match(self) -> tuple[str, tuple[str, ...]]:
        return (self.body.key, tuple(sorted(self.body.target)))


def check_public_value(key: str, value: str, check: PublicValueCheck) -> None:
    """Refuse to send a public value the policies' check flags (naming the key only);
    ``check`` answers with a phrase such as ``looks like a secret (Stripe Access Key)``."""
    problem = check(key, value)
    if problem:
        raise PolicyDenied(
            f"refusing to publish {key}: its value {problem}",
            hint="the artifact may have been altered: run make decision and make render, "
            "and keep secrets in server variables as references",
        )


def check_public_values(changes: Sequence[Change], check: PublicValueCheck) -> None:
    """Run the outbound check over every public value in ``changes``, before any write."""
    for change in changes:
        desired = change.desired
        if (
            desired.get("kind") == "public"
            and change.action.writes
            and (desired.get("mode") not in ("delete", "comment", None))
        ):
            check_public_value(str(desired["key"]), str(desired.get("value") or ""), check)


def _is_ours(env: EnvVar, ctx: ApplyContext) -> Ownership | None:
    _, ownership = parse_comment(env.comment)
    if ownership is not None and ownership.owned_by(ctx.owner, ctx.project):
        return ownership
    return None


def _find(envs: Sequence[EnvVar], key: str, targets: Sequence[str]) -> list[EnvVar]:
    wanted = set(targets)
    return [
        e
        for e in envs
        if e.key == key
        and not e.git_branch
        and not e.custom_environment_ids
        and set(e.target) == wanted
    ]


def build_item(
    ctx: ApplyContext, desired: Mapping[str, Any], value: str, *, client_secret_id: str = ""
) -> Item:
    key, targets = str(desired["key"]), [str(t) for t in desired["targets"]]
    ref = desired.get("ref")
    source = (
        value
        if desired.get("kind") == "public"
        else fingerprinted_value(ctx.resolver, str(ref) if ref else None, value)
    )
    fp = fingerprint(
        ctx.fingerprint_key, project=ctx.project, key=key, targets=targets, value=source
    )
    ownership = Ownership(
        owner=ctx.owner,
        project=ctx.project,
        ref=ref_digest(desired.get("ref")),
        rot=int(desired.get("rotate", 0)),
        fp=fp,
        cs=client_secret_id,
        kid=ctx.key_id,
    )
    body = NewEnvVar(
        key=key,
        value=value,
        type=str(desired["type"]),
        target=targets,
        comment=compose_comment(desired.get("comment"), ownership),
    )
    return Item(body=body, fp=fp)


def resolve_item(ctx: ApplyContext, change: Change) -> Item:
    """The body to send for ``change``: the value resolved now (minting a client secret)."""
    desired = change.desired
    if desired.get("kind") == "public":
        value = str(desired.get("value") or "")
        check_public_value(str(desired["key"]), value, ctx.public_value_check)
    else:
        ref = str(desired.get("ref") or "")
        if ctx.resolver is None:
            raise ConvergeError(
                f"cannot resolve the reference of {desired['key']}: no resolver configured"
            )
        if is_client_secret(ref):
            value, secret_id = mint_client_secret(ctx, ref)
            return build_item(ctx, desired, value, client_secret_id=secret_id)
        value = ctx.resolver.resolve(ref, mint=False)
    return build_item(ctx, desired, value)


def mint_client_secret(ctx: ApplyContext, ref: str) -> tuple[str, str]:
    """Mint a client secret for ``ref``; return (value, its Infisical id).

    A mint whose answer was lost is revoked and minted again by the resolver; the secret
    the variable held before is released once the new one is published
    (``release_replaced``), and the engine revokes what no variable holds at the end of
    the run, so no minted secret outlives its use."""
    assert ctx.resolver is not None
    value = ctx.resolver.resolve(ref, mint=True)
    return value, ctx.resolver.minted_id(ref) or ""


def release_replaced(ctx: ApplyContext, change: Change) -> None:
    """After ``change`` published a newly minted client secret, release the one the
    variable held before (a pending revocation, due at the end of the grace period)."""
    desired = change.desired
    ref = str(desired.get("ref") or "")
    old = str(desired.get("client_secret_id") or "")
    if ctx.resolver is None or not old or not is_client_secret(ref):
        return
    new = ctx.resolver.minted_id(ref)
    if new and new != old:
        ctx.resolver.release(ref, old, reason="replaced by a newly minted secret")


def send_items(
    ctx: ApplyContext, items: Sequence[Item], *, upsert: bool
) -> list[EnvVar | ConvergeError]:
    """One POST for ``items``; per item, the record now in Vercel or the error it met."""
    if not items:
        return []

    def lookup(*, same_value: bool = True) -> dict[tuple[str, tuple[str, ...]], EnvVar]:
        """Our records at the items' key + targets (with the value just sent, or any)."""
        envs = ctx.client.list_env(ctx.scope)
        found: dict[tuple[str, tuple[str, ...]], EnvVar] = {}
        for item in items:
            for env in _find(envs, *item.match):
                own = _is_ours(env, ctx)
                if own is not None and (own.fp == item.fp or not same_value):
                    found[item.match] = env
        return found

    def reobserve() -> CreateResult | None:
        found = lookup()
        if len(found) < len(items):
            return None
        return CreateResult(created=[found[item.match] for item in items])

    result = ctx.client.create_env(
        ctx.scope,
        [item.body for item in items],
        upsert=upsert,
        reobserve=None if upsert else reobserve,
    )
    created = {(e.key, tuple(sorted(e.target))): e for e in result.created}
    outcomes: list[EnvVar | ConvergeError] = []
    late: dict[tuple[str, tuple[str, ...]], EnvVar] | None = None
    for item in items:
        env = created.get(item.match)
        if env is not None:
            outcomes.append(env)
            continue
        failure = _failure_for(item, result.failed)
        code = failure.error.code if failure else ""
        if code == "ENV_ALREADY_EXISTS" and not upsert:
            # Possibly our own earlier attempt (a run that stopped before journaling it):
            # the same value is done; ours with another value (a re-minted secret) is
            # overwritten in place; anyone else's is a conflict.
            late = lookup(same_value=False) if late is None else late
            mine = late.get(item.match)
            if mine is not None:
                own = _is_ours(mine, ctx)
                if own is not None and own.fp == item.fp:
                    outcomes.append(mine)
                else:
                    outcomes.append(send_items(ctx, [item], upsert=True)[0])
                continue
            outcomes.append(
                VendorConflictError(
                    f"vercel already has {item.body.key} ({', '.join(item.match[1])}), "
                    "not managed by converge",
                    vendor=VENDOR,
                    request=f"POST /v10/projects/{ctx.scope.project}/env",
                    status=403,
                    hint="plan again: the variable appeared after the plan",
                )
            )
            continue
        message = failure.error.message if failure else "no result for this variable"
        outcomes.append(
            VendorError(
                f"vercel did not write {item.body.key} ({', '.join(item.match[1])}): "
                f"{code + ': ' if code else ''}{message}",
                vendor=VENDOR,
                request=f"POST /v10/projects/{ctx.scope.project}/env",
                status=400 if failure else 0,
            )
        )
    return outcomes


def _failure_for(item: Item, failed: Sequence[FailedItem]) -> FailedItem | None:
    key, targets = item.match
    for failure in failed:
        error = failure.error
        if error.key not in (None, key):
            continue
        target = error.target
        listed = [target] if isinstance(target, str) else list(target or [])
        if not listed or set(listed) & set(targets):
            return failure
    return None


def delete_confirmed(ctx: ApplyContext, env_id: str) -> None:
    """Delete by id (already gone is fine), then read to confirm it is gone."""
    ctx.client.delete_env(ctx.scope, env_id)
    if ctx.client.get_env(ctx.scope, env_id) is not None:
        raise VendorError(
            f"vercel still lists env var {env_id} after deleting it",
            vendor=VENDOR,
            request=f"DELETE /v9/projects/{ctx.scope.project}/env/{env_id}",
            hint="Vercel deletes are eventually consistent: rerun apply to confirm",
        )


def applied(env: EnvVar, fp: str | None, note: str = "") -> AppliedChange:
    return AppliedChange(vendor_id=env.id, marker=change_marker(env), fingerprint=fp, note=note)


def apply_one(ctx: ApplyContext, change: Change) -> AppliedChange:
    """Perform a change that is not part of a batch (or a batch of one)."""
    desired = change.desired
    mode = desired.get("mode")
    if change.action is Action.CONFLICT or mode == "none":
        raise VendorConflictError(
            f"{change.label or change.name} is in the way and not managed by converge",
            vendor=VENDOR,
            hint="adopt it (adopt) or remove it in Vercel",
        )
    if mode == "delete":
        for env_id in desired.get("replaces") or [change.current_id]:
            delete_confirmed(ctx, str(env_id))
        return AppliedChange(vendor_id=change.current_id, note="deleted; confirmed gone")
    if mode == "comment":
        assert change.current_id is not None
        ownership = Ownership(
            owner=ctx.owner,
            project=ctx.project,
            ref=ref_digest(desired.get("ref")),
            rot=int(desired.get("rotate", 0)),
            fp=str(desired.get("fingerprint", "")),
            cs=str(desired.get("client_secret_id", "")),
            # the fingerprint stays the one written before, so does the key that wrote it
            kid=str(desired.get("fingerprint_key_id", "")),
        )
        env = ctx.client.patch_env(
            ctx.scope,
            change.current_id,
            {"comment": compose_comment(desired.get("comment"), ownership)},
        )
        return applied(env, ownership.fp or None, "comment updated")
    if mode == "replace":
        item = resolve_item(ctx, change)
        for env_id in desired.get("replaces") or []:
            delete_confirmed(ctx, str(env_id))
        outcome = send_items(ctx, [item], upsert=False)[0]
    elif mode in ("create", "upsert"):
        item = resolve_item(ctx, change)
        outcome = send_items(ctx, [item], upsert=mode == "upsert")[0]
    else:
        raise ConvergeError(f"unknown vercel apply mode {mode!r} for {change.key}")
    if isinstance(outcome, ConvergeError):
        raise outcome
    return applied(outcome, item.fp)


def apply_batch(
    ctx: ApplyContext,
    changes: Sequence[Change],
    on_result: Callable[[int, Outcome], None] | None = None,
) -> list[Outcome]:
    """Perform ``changes`` (in plan order), batching creates and exact upserts into one
    POST each; one outcome per change, in the same order. Public values are checked before
    the first write, so a flagged value stops the whole batch with nothing sent.

    ``on_result`` hears each outcome as soon as Vercel answered for it (the items of a
    batched POST together, right after that POST; every other change right after its own
    requests), so the engine journals a created id or a confirmed delete before the next
    request goes out: a kill then loses at most the answer in flight.
    """
    check_public_values(changes, ctx.public_value_check)
    outcomes: dict[int, Outcome] = {}

    def done(index: int, outcome: Outcome) -> None:
        outcomes[index] = outcome
        if isinstance(outcome, AppliedChange):
            release_replaced(ctx, changes[index])
        if on_result is not None:
            on_result(index, outcome)

    for upsert in (False, True):
        mode = "upsert" if upsert else "create"
        batch = [
            (i, c)
            for i, c in enumerate(changes)
            if c.action in (Action.CREATE, Action.UPDATE, Action.ADOPT)
            and c.desired.get("mode") == mode
        ]
        items: list[tuple[int, Item]] = []
        for i, change in batch:
            try:
                items.append((i, resolve_item(ctx, change)))
            except VendorAuthError:
                raise
            except ConvergeError as exc:
                done(i, exc)
        try:
            sent = send_items(ctx, [item for _, item in items], upsert=upsert)
        except VendorAuthError:
            raise
        except ConvergeError as exc:
            sent = [exc] * len(items)
        for (i, item), result in zip(items, sent, strict=True):
            done(i, result if isinstance(result, ConvergeError) else applied(result, item.fp))
    for i, change in enumerate(changes):
        if i in outcomes:
            continue
        try:
            done(i, apply_one(ctx, change))
        except VendorAuthError:
            raise
        except ConvergeError as exc:
            done(i, exc)
    return [outcomes[i] for i in range(len(changes))]
