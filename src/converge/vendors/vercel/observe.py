"""Observe (I/O): one list call per project, then the fingerprints the pure diff needs.

``observe_variables`` turns ``GET /v10/projects/{id}/env`` into ``ObservedVariable``
records: targets sorted, ownership parsed from the comment, plaintext kept only for
``plain`` variables (everything else shows Vercel's opaque ciphertext, which converge
never stores) and a change marker ``<id>:<updatedAt>`` the journal keeps after each
apply, so a write-only value replaced outside converge is noticed without reading it.

``desired_fingerprints`` computes, before the diff, the keyed fingerprint of every value
converge can know at plan time without side effects: public literals and server
references other than client secrets (``resolver.resolve(ref, mint=False)``). A client
secret cannot be read back once minted, so it has no entry; the diff then relies on the
marker and the journal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from converge.desired import DesiredVariable, DesiredVercel
from converge.errors import ConvergeError
from converge.vendors.base import ReferenceResolver
from converge.vendors.vercel.client import ProjectScope, VercelClient
from converge.vendors.vercel.ownership import Ownership, fingerprint, parse_comment
from converge.vendors.vercel.wire import EnvVar

CLIENT_SECRET_SUFFIX = "/client-secret"


@dataclass(frozen=True)
class ObservedVariable:
    """One live Vercel env var, normalised for the diff."""

    id: str
    key: str
    type: str
    targets: tuple[str, ...]
    git_branch: str | None
    custom_environment_ids: tuple[str, ...]
    value: str | None  # plaintext of ``plain`` vars only
    user_comment: str
    ownership: Ownership | None
    marker: str

    @property
    def general(self) -> bool:
        """Not scoped to a Git branch or a custom environment (converge writes only these)."""
        return self.git_branch is None and not self.custom_environment_ids


def change_marker(env: EnvVar) -> str:
    return f"{env.id}:{env.updated_at if env.updated_at is not None else ''}"


def to_observed(env: EnvVar) -> ObservedVariable:
    user, ownership = parse_comment(env.comment)
    return ObservedVariable(
        id=env.id,
        key=env.key,
        type=env.type,
        targets=tuple(sorted(set(env.target))),
        git_branch=env.git_branch or None,
        custom_environment_ids=tuple(sorted(env.custom_environment_ids)),
        value=env.value if env.type == "plain" else None,
        user_comment=user,
        ownership=ownership,
        marker=change_marker(env),
    )


def observe_variables(client: VercelClient, scope: ProjectScope) -> tuple[ObservedVariable, ...]:
    """Every env var of the project, with one list request (more only if Vercel pages)."""
    return tuple(to_observed(env) for env in client.list_env(scope))


def fingerprinted_value(resolver: ReferenceResolver | None, ref: str | None, value: str) -> str:
    """What a server value's fingerprint is taken over: the resolver's list-level stamp
    when it has one (so a no-op plan reads no value), else the value itself."""
    stamp = _stamp(resolver, ref)
    return f"stamp:{stamp}" if stamp else value


def _stamp(resolver: ReferenceResolver | None, ref: str | None) -> str | None:
    stamp_of = getattr(resolver, "stamp", None)  # optional: resolvers without stamps work
    return stamp_of(ref) if stamp_of is not None and ref else None


def is_client_secret(ref: str | None) -> bool:
    return bool(ref) and str(ref).endswith(CLIENT_SECRET_SUFFIX)


def wire_type(variable: DesiredVariable) -> str:
    """What converge sends: ``plain`` for public literals; ``sensitive`` for references,
    except ``encrypted`` where Vercel forbids sensitive (any record targeting development)."""
    if variable.kind == "public":
        return "plain"
    if "development" in variable.targets:
        return "encrypted"
    return "sensitive"


def record_name(key: str, targets: Sequence[str]) -> str:
    """The stable name of one Vercel record (one per key and target set)."""
    return f"{key}@{'+'.join(sorted(set(targets)))}"


def desired_fingerprints(
    desired: DesiredVercel,
    *,
    project: str,
    secret_key: bytes,
    resolver: ReferenceResolver | None,
    wanted: Sequence[str] | None = None,
) -> dict[str, str]:
    """Record name -> keyed fingerprint of the value converge would send, for every value
    knowable without side effects. ``wanted`` limits the (network) resolution of server
    references to the records that need it. A reference that cannot be resolved yet (an
    identity Infisical has not created) is left out: the diff then cannot compare it."""
    found: dict[str, str] = {}
    for variable in desired.variables:
        name = record_name(variable.key, variable.targets)
        value: str | None = None
        if variable.kind == "public":
            value = variable.value
        elif variable.ref and not is_client_secret(variable.ref) and resolver is not None:
            if wanted is not None and name not in wanted:
                continue
            stamp = _stamp(resolver, variable.ref)
            if stamp:
                value = f"stamp:{stamp}"
            else:
                try:
                    value = resolver.resolve(variable.ref, mint=False)
                except ConvergeError:
                    value = None
        if value is not None:
            found[name] = fingerprint(
                secret_key,
                project=project,
                key=variable.key,
                targets=variable.targets,
                value=value,
            )
    return found
