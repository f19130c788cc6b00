"""``VercelReconciler``: the Vercel env vars of one converge project, as a SystemReconciler.

observe (one list call; plus, for server references whose value is knowable without side
effects, ``resolver.resolve(ref, mint=False)`` to fingerprint them) → ``diff`` (pure, see
``diff.py``) → ``apply`` one change, or ``apply_batch`` several with one POST per kind of
write. ``notes`` lists what the last diff could not verify (write-only values with no
journal marker to compare), which the CLI prints apart from changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from converge.changes import Change
from converge.desired import DesiredVercel
from converge.errors import ConvergeError
from converge.util.keyid import key_id
from converge.vendors.base import (
    AppliedChange,
    BaseReconciler,
    Note,
    OwnedObject,
    ReferenceResolver,
    ResultSink,
)
from converge.vendors.vercel.apply import (
    ApplyContext,
    Outcome,
    PublicValueCheck,
    apply_batch,
    apply_one,
    check_public_values,
    release_replaced,
)
from converge.vendors.vercel.client import ProjectScope, VercelClient
from converge.vendors.vercel.diff import OWNER, SYSTEM, EnvDiff, change_key, diff_env_vars
from converge.vendors.vercel.observe import (
    ObservedVariable,
    desired_fingerprints,
    is_client_secret,
    observe_variables,
    record_name,
)


class VercelReconciler(BaseReconciler):
    """Reconciles ``desired`` (one project's ``vercel-env.json``) with Vercel.

    ``project`` is the converge project (it goes in every ownership marker and
    fingerprint), ``resolver`` turns references into values at apply time (and, for
    client ids and Infisical secrets, at plan time for fingerprints), ``fingerprint_key``
    keys the fingerprints, ``public_value_check`` is the policies' secret detector run
    again on every public value before it is sent, ``adopt`` takes over unmanaged
    variables that stand exactly where a desired one goes.
    """

    system = SYSTEM
    batches = True

    def __init__(
        self,
        desired: DesiredVercel,
        client: VercelClient,
        *,
        project: str,
        resolver: ReferenceResolver | None,
        fingerprint_key: bytes,
        public_value_check: PublicValueCheck,
        adopt: bool = False,
    ):
        self.desired = desired
        self.client = client
        self.project = project
        self.resolver = resolver
        self.fingerprint_key = fingerprint_key
        self.public_value_check = public_value_check
        self.adopt = adopt
        self.scope = ProjectScope(team=desired.team, project=desired.project)
        self._observed: tuple[ObservedVariable, ...] | None = None
        self._markers: Mapping[str, str] = {}
        self._fingerprints: Mapping[str, str] = {}
        self._last: EnvDiff | None = None
        self._context: ApplyContext | None = None

    def desired_keys(self) -> frozenset[str]:
        """One object per declared variable record (a key and its set of targets)."""
        return frozenset(change_key(record_name(v.key, v.targets)) for v in self.desired.variables)

    def observe(self, *, markers: Mapping[str, str]) -> None:
        """List the project's env vars once; fingerprint the knowable server values of the
        records converge already owns under this run's key (one resolve each, no minting;
        a fingerprint written under another key cannot be compared, so is not computed)."""
        observed = observe_variables(self.client, self.scope)
        run_key = key_id(self.fingerprint_key)
        owned = {
            record_name(r.key, r.targets)
            for r in observed
            if r.ownership is not None and r.ownership.owned_by(OWNER, self.project)
            and not r.ownership.key_differs(run_key)
        }
        wanted = [
            record_name(v.key, v.targets)
            for v in self.desired.variables
            if v.kind != "public" and not is_client_secret(v.ref)
            and record_name(v.key, v.targets) in owned
        ]
        self._fingerprints = desired_fingerprints(
            self.desired, project=self.project, secret_key=self.fingerprint_key,
            resolver=self.resolver, wanted=wanted,
        )
        self._observed = observed
        self._markers = dict(markers)
        self._last = None

    def diff(self) -> Sequence[Change]:
        if self._observed is None:
            raise ConvergeError("vercel: diff() called before observe()")
        self._last = diff_env_vars(
            self.desired, self._observed, project=self.project,
            fingerprints=self._fingerprints, markers=self._markers,
            key_id=key_id(self.fingerprint_key), adopt=self.adopt,
        )
        return self._last.changes

    @property
    def notes(self) -> tuple[Note, ...]:
        """What the last diff could not verify (never secret, never a change)."""
        return self._last.notes if self._last is not None else ()

    def _ctx(self) -> ApplyContext:
        if self._context is None:
            scope = ProjectScope(team=self.scope.team,
                                 project=self.client.project_id(self.scope))
            self._context = ApplyContext(
                client=self.client, scope=scope, project=self.project, owner=OWNER,
                resolver=self.resolver, fingerprint_key=self.fingerprint_key,
                public_value_check=self.public_value_check,
            )
        return self._context

    def apply(self, change: Change) -> AppliedChange:
        """Perform one change (safe to repeat after a crash: a create that landed is found
        again by key, targets and fingerprint). Raises a ConvergeError on failure."""
        check_public_values([change], self.public_value_check)
        result = apply_one(self._ctx(), change)
        release_replaced(self._ctx(), change)
        return result

    def apply_batch(
        self, changes: Sequence[Change], *, on_result: ResultSink | None = None
    ) -> Sequence[Outcome]:
        """Perform several changes of this project with one POST for all creates and one for
        all exact upserts; one outcome (AppliedChange or the ConvergeError met) per change,
        each also given to ``on_result`` as soon as Vercel answered for it. Public values
        are all checked before the first write; a refused credential raises."""
        check_public_values(changes, self.public_value_check)
        return apply_batch(self._ctx(), changes, on_result)

    def owned_objects(self) -> Mapping[str, OwnedObject] | None:
        """The records observe found with this project's ``vercel`` marker, by change key."""
        if self._observed is None:
            return None
        return {
            change_key(record_name(r.key, r.targets)): OwnedObject(r.id, r.marker)
            for r in self._observed
            if r.general and r.ownership is not None
            and r.ownership.owned_by(OWNER, self.project)
        }

    def close(self) -> None:
        self.client.close()
