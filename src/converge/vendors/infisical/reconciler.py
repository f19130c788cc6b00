"""The Infisical ``SystemReconciler``: observe → diff → apply for one converge project.

The engine constructs it with the project's ``DesiredState`` and an ``InfisicalClient``
(``InfisicalClient.from_environment``), then calls ``observe(markers=…)``, ``diff()`` and
``apply(change)`` for each planned change in ``order_changes`` order, journaling the
``AppliedChange`` (its ``marker`` feeds the next observe's ``markers``).

The Infisical project and organisation come from ``infisical_target``: the artifacts'
``spec.infisical`` target, else the project the references resolve in (so managed
objects can still be found and deleted when none is desired any more).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from converge.changes import Change
from converge.desired import DesiredState, InfisicalTarget
from converge.errors import ConvergeError
from converge.vendors.base import AppliedChange, BaseReconciler
from converge.vendors.infisical import wire
from converge.vendors.infisical.apply import InfisicalApplier
from converge.vendors.infisical.client import InfisicalClient
from converge.vendors.infisical.diff import SYSTEM, desired_keys, diff_infisical
from converge.vendors.infisical.observe import observe_infisical
from converge.vendors.infisical.observed import ObservedState


def owner_marker(organization: str, project: str) -> str:
    """The ownership value converge writes on what it manages: ``<org>/<project>``."""
    return f"{organization}/{project}"


def infisical_target(desired: DesiredState) -> InfisicalTarget | None:
    """Where the project's Infisical objects live: the target of its roles, identities and
    bindings (the first declared); when it declares none any more, the Infisical project
    its Vercel or Supabase references resolve in, so the managed objects left there can
    still be found and deleted. None when neither says."""
    targets = [r.target for r in desired.roles] + [i.target for i in desired.identities]
    targets += [b.target for b in desired.bindings]
    if targets:
        return targets[0]
    scope = (desired.vercel and desired.vercel.references) or (
        desired.supabase and desired.supabase.references
    )
    if scope and scope.environments:
        return InfisicalTarget(
            scope.organization, scope.project, next(iter(scope.environments.values()))
        )
    return None


class InfisicalReconciler(BaseReconciler):
    system = SYSTEM

    def __init__(
        self,
        desired: DesiredState,
        client: InfisicalClient,
        *,
        adopt: bool = False,
        target: InfisicalTarget | None = None,
    ):
        self.desired = desired
        self.client = client
        self.adopt = adopt
        found = target or infisical_target(desired)
        if found is None:
            raise ConvergeError(f"project {desired.project} declares no Infisical target")
        self.target = found
        self.owner = owner_marker(found.organization, desired.project)
        self._project: wire.Project | None = None
        self._observed: ObservedState | None = None
        self._identity_ids: dict[str, str] = {}

    def desired_keys(self) -> frozenset[str]:
        """Each desired role (by slug), identity and binding (by name)."""
        return desired_keys(self.desired.roles, self.desired.identities, self.desired.bindings)

    @property
    def project(self) -> wire.Project:
        """The Infisical project (id, org id, environments), looked up once by slug."""
        if self._project is None:
            self._project = self.client.get_project(self.target.project)
        return self._project

    def observe(self, *, markers: Mapping[str, str]) -> None:
        """One project lookup and one list per kind; per-object reads only where the
        markers say an object moved (see ``observe.py``)."""
        self._observed = observe_infisical(
            self.client, self.project, roles=self.desired.roles,
            identities=self.desired.identities, owner=self.owner, markers=markers,
        )
        wanted = {i.name for i in self.desired.identities}
        self._identity_ids.update(
            {i.name: i.id for i in self._observed.identities
             if i.name in wanted and (i.metadata is None or i.owner() == self.owner)}
        )

    @property
    def observed(self) -> ObservedState:
        if self._observed is None:
            raise ConvergeError("Infisical was not observed before diff")
        return self._observed

    def diff(self) -> Sequence[Change]:
        """Pure over the last observation; empty right after a successful apply."""
        return diff_infisical(
            roles=self.desired.roles, identities=self.desired.identities,
            bindings=self.desired.bindings, observed=self.observed, owner=self.owner,
            adopt=self.adopt,
        )

    def apply(self, change: Change) -> AppliedChange:
        """Perform one change (roles → identities → bindings; deletes in reverse, each
        confirmed gone). Safe to repeat after a crash."""
        applier = InfisicalApplier(self.client, self.project, owner=self.owner,
                                   identity_ids=self._identity_ids)
        return applier.apply(change)

    def close(self) -> None:
        self.client.close()
