"""The Infisical reconciler against the emulator, in-process: end state after apply,
idempotence with one list per kind, updates with field diffs, managed deletes in reverse
order, conflicts and adoption of unmanaged objects, and lost create answers."""

from __future__ import annotations

import dataclasses
from typing import Any

from converge.changes import Action
from converge.desired import DesiredState
from converge_sandbox.infisical.permissions import unpack_rules
from converge_sandbox.infisical.seed import org_id, project_id_by_slug
from converge_sandbox.infisical.state import InfisicalState
from converge_sandbox.world import SandboxWorld
from tests.vendors.infisical.conftest import Harness

OWNER = "acme/journal"


def _state(world: SandboxWorld) -> InfisicalState:
    return InfisicalState(world)


def _identities(world: SandboxWorld, name: str) -> list[dict[str, Any]]:
    return [d for d in _state(world).list_docs("identity") if d["name"] == name]


def _identity(world: SandboxWorld, name: str) -> dict[str, Any]:
    found = _identities(world, name)
    assert len(found) == 1, found
    return found[0]


def _with_identity(desired: DesiredState, name: str, **ua: Any) -> DesiredState:
    identities = tuple(
        dataclasses.replace(i, universal_auth={**i.universal_auth, **ua}) if i.name == name else i
        for i in desired.identities
    )
    return dataclasses.replace(desired, identities=identities)


def _without_identity(desired: DesiredState, name: str) -> DesiredState:
    return dataclasses.replace(
        desired,
        identities=tuple(i for i in desired.identities if i.name != name),
        bindings=tuple(b for b in desired.bindings if b.identity != name),
    )


def test_apply_from_empty_creates_roles_identities_and_bindings(
    harness: Harness, journal_desired: DesiredState
) -> None:
    changes = harness.apply(journal_desired)

    assert [(c.kind, c.action) for c in changes] == [
        ("role", Action.CREATE), ("role", Action.CREATE),
        ("identity", Action.CREATE), ("identity", Action.CREATE),
        ("binding", Action.CREATE), ("binding", Action.CREATE),
    ]
    labels = {c.label for c in changes}
    assert {"runtime (prod)", "token-service@journal-prod (prod)",
            "token-service-runtime-binding"} <= labels
    binding = next(c for c in changes if c.name == "token-service-runtime-binding")
    assert binding.detail == "Identity: token-service@journal-prod -> Role: runtime"

    state = _state(harness.world)
    project_id = project_id_by_slug(harness.world, "journal")
    role = state.role_by_slug(project_id, "runtime-prod")
    assert role is not None
    assert role["description"].endswith("[managed by converge: acme/journal]")
    assert unpack_rules(role["permissions"]) == [{
        "subject": "secrets", "action": ["describeSecret", "readValue"], "inverted": False,
        "conditions": {"environment": {"$eq": "prod"}, "secretPath": {"$glob": "/runtime/**"}},
    }]
    identity = _identity(harness.world, "token-service@journal-prod")
    assert {"key": "converge.managed-by", "value": OWNER} in [
        {"key": m["key"], "value": m["value"]} for m in identity["metadata"]]
    ua = state.ua(identity["id"])
    assert (ua["accessTokenTTL"], ua["accessTokenMaxTTL"], ua["accessTokenNumUsesLimit"]) == (
        3600, 86400, 0)
    ci_ua = state.ua(_identity(harness.world, "ci@github-prod")["id"])
    assert ci_ua["clientSecretTrustedIps"] == [
        {"ipAddress": "140.82.112.0", "prefix": 20, "type": "ipv4"}]
    membership = state.membership(project_id, identity["id"])
    assert membership is not None
    assert [(r["role"], r["customRoleSlug"]) for r in membership["roles"]] == [
        ("custom", "runtime-prod")]


def test_second_plan_is_empty_with_one_list_per_kind(
    harness: Harness, journal_desired: DesiredState
) -> None:
    harness.apply(journal_desired)
    harness.bridge.log.clear()

    assert harness.plan(journal_desired) == ()

    counter = harness.counters[-1]
    # the universal-auth login, the project lookup and one list per kind
    assert counter.total("infisical") == 5
    log = [entry for entry in harness.bridge.log if not entry.endswith("/login")]
    assert harness.bridge.count("POST", "/api/v1/auth/universal-auth/login") == 1
    assert all(entry.startswith("GET ") for entry in log)
    assert sum(1 for entry in log if entry.endswith("/roles")) == 1
    assert log.count("GET /api/v1/identities") == 1
    assert sum(1 for entry in log if entry.endswith("/identity-memberships")) == 1


def test_plan_without_journal_markers_reads_objects_and_finds_no_drift(
    harness: Harness, journal_desired: DesiredState
) -> None:
    """Normalisation on both sides: the API's reshaped rules and parsed IPs equal the
    artifacts, so even a full read (no markers) gives an empty plan."""
    harness.apply(journal_desired)
    harness.markers.clear()
    harness.bridge.log.clear()

    assert harness.plan(journal_desired) == ()
    assert harness.bridge.count("GET", "/roles/slug/") == 2
    assert harness.bridge.count("GET", "/auth/universal-auth/identities/") == 2


def test_changed_ttl_and_trusted_ip_is_one_update_with_field_diffs(
    harness: Harness, journal_desired: DesiredState
) -> None:
    harness.apply(journal_desired)
    changed = _with_identity(journal_desired, "token-service@journal-prod",
                             accessTokenTTL=1800, clientSecretTrustedIps=["10.1.2.3"])

    plan = harness.plan(changed)

    assert len(plan) == 1
    change = plan[0]
    assert (change.kind, change.action, change.name) == (
        "identity", Action.UPDATE, "token-service@journal-prod")
    assert {d.field: (d.before, d.after) for d in change.diffs} == {
        "universalAuth.accessTokenTTL": (3600, 1800),
        "universalAuth.clientSecretTrustedIps": (["0.0.0.0/0"], ["10.1.2.3/32"]),
    }
    harness.apply(changed)
    ua = _state(harness.world).ua(_identity(harness.world, "token-service@journal-prod")["id"])
    assert ua["accessTokenTTL"] == 1800
    assert ua["clientSecretTrustedIps"] == [{"ipAddress": "10.1.2.3", "prefix": 32, "type": "ipv4"}]
    assert harness.plan(changed) == ()


def test_changed_permission_is_one_role_update(
    harness: Harness, journal_desired: DesiredState
) -> None:
    harness.apply(journal_desired)
    roles = tuple(
        dataclasses.replace(r, permissions=({**r.permissions[0], "conditions": {
            "environment": "prod", "secretPath": "/runtime/app/**"}},))
        if r.slug == "runtime-prod" else r
        for r in journal_desired.roles
    )
    changed = dataclasses.replace(journal_desired, roles=roles)

    plan = harness.plan(changed)

    assert [(c.kind, c.action, c.name) for c in plan] == [
        ("role", Action.UPDATE, "runtime-prod")]
    assert [d.field for d in plan[0].diffs] == ["permissions"]
    harness.apply(changed)
    role = _state(harness.world).role_by_slug(project_id_by_slug(harness.world, "journal"),
                                               "runtime-prod")
    assert role is not None
    assert unpack_rules(role["permissions"])[0]["conditions"]["secretPath"] == {
        "$glob": "/runtime/app/**"}
    assert harness.plan(changed) == ()


def test_out_of_band_role_edit_moves_the_marker_and_is_reverted(
    harness: Harness, journal_desired: DesiredState
) -> None:
    harness.apply(journal_desired)
    state = _state(harness.world)
    project_id = project_id_by_slug(harness.world, "journal")
    role = state.role_by_slug(project_id, "ci-prod")
    assert role is not None
    role["permissions"] = [["readValue", "secrets", {"environment": {"$eq": "prod"}}]]
    role["updatedAt"] = "2030-01-01T00:00:00.000Z"
    state.put("role", f"{project_id}/{role['id']}", role)

    plan = harness.plan(journal_desired)

    assert [(c.name, c.action) for c in plan] == [("ci-prod", Action.UPDATE)]
    harness.apply(journal_desired)
    assert harness.plan(journal_desired) == ()


def test_removed_identity_is_deleted_after_its_binding(
    harness: Harness, journal_desired: DesiredState
) -> None:
    harness.apply(journal_desired)
    identity_id = _identity(harness.world, "ci@github-prod")["id"]
    smaller = _without_identity(journal_desired, "ci@github-prod")

    changes = harness.apply(smaller)

    assert [(c.kind, c.action, c.name) for c in changes] == [
        ("binding", Action.DELETE, "ci-ci-binding"),
        ("identity", Action.DELETE, "ci@github-prod"),
    ]
    assert _identities(harness.world, "ci@github-prod") == []
    state = _state(harness.world)
    project_id = project_id_by_slug(harness.world, "journal")
    assert state.membership(project_id, identity_id) is None
    assert _identity(harness.world, "converge-operator")  # unmanaged: untouched
    assert harness.plan(smaller) == ()


def test_removed_role_is_deleted_and_built_in_roles_are_left_alone(
    harness: Harness, journal_desired: DesiredState
) -> None:
    harness.apply(journal_desired)
    smaller = dataclasses.replace(
        _without_identity(journal_desired, "ci@github-prod"),
        roles=tuple(r for r in journal_desired.roles if r.slug != "ci-prod"),
    )

    changes = harness.apply(smaller)

    assert [(c.kind, c.action) for c in changes] == [
        ("binding", Action.DELETE), ("identity", Action.DELETE), ("role", Action.DELETE)]
    project_id = project_id_by_slug(harness.world, "journal")
    assert _state(harness.world).role_by_slug(project_id, "ci-prod") is None
    operator = _identity(harness.world, "converge-operator")
    membership = _state(harness.world).membership(project_id, operator["id"])
    assert membership is not None and membership["roles"][0]["role"] == "admin"


def _make_unmanaged_identity(harness: Harness, name: str) -> str:
    client = harness.client()
    row = client.create_identity(name=name, org_id=org_id(harness.world),
                                 metadata=[{"key": "team", "value": "infra"}],
                                 is_ours=lambda _: False)
    return row.id


def test_unmanaged_identity_with_a_desired_name_is_a_conflict(
    harness: Harness, journal_desired: DesiredState
) -> None:
    stranger = _make_unmanaged_identity(harness, "token-service@journal-prod")

    changes = harness.apply(journal_desired)

    conflict = next(c for c in changes if c.name == "token-service@journal-prod")
    assert conflict.action is Action.CONFLICT
    assert "not managed by converge" in conflict.reason and "adopt" in conflict.reason
    binding = next(c for c in changes if c.name == "token-service-runtime-binding")
    assert binding.action is Action.CONFLICT
    doc = _identity(harness.world, "token-service@journal-prod")
    assert doc["id"] == stranger
    assert [m["key"] for m in doc["metadata"]] == ["team"]
    assert _state(harness.world).get("ua", stranger) is None


def test_adopt_takes_an_unmanaged_identity_over_and_converges(
    harness: Harness, journal_desired: DesiredState
) -> None:
    stranger = _make_unmanaged_identity(harness, "token-service@journal-prod")

    changes = harness.apply(journal_desired, adopt=True)

    adopted = next(c for c in changes if c.name == "token-service@journal-prod")
    assert adopted.action is Action.ADOPT
    doc = _identity(harness.world, "token-service@journal-prod")
    assert doc["id"] == stranger
    assert {(m["key"], m["value"]) for m in doc["metadata"]} == {
        ("team", "infra"), ("converge.managed-by", OWNER)}
    assert _state(harness.world).ua(stranger)["accessTokenTTL"] == 3600
    assert harness.plan(journal_desired) == ()


def test_unmanaged_role_with_a_desired_slug_conflicts_then_is_adopted(
    harness: Harness, journal_desired: DesiredState
) -> None:
    client = harness.client()
    project_id = project_id_by_slug(harness.world, "journal")
    client.create_role(project_id, {"slug": "ci-prod", "name": "CI", "description": None,
                                    "permissions": [{"subject": "secrets", "action": "read"}]})

    plan = harness.plan(journal_desired)
    conflict = next(c for c in plan if c.name == "ci-prod")
    assert conflict.action is Action.CONFLICT
    assert "adopt" in conflict.reason

    harness.apply(journal_desired, adopt=True)
    role = _state(harness.world).role_by_slug(project_id, "ci-prod")
    assert role is not None and role["description"].endswith("[managed by converge: acme/journal]")
    assert harness.plan(journal_desired) == ()


def test_lost_create_answer_does_not_duplicate_the_identity(
    harness: Harness, journal_desired: DesiredState
) -> None:
    harness.bridge.drop = lambda request: (
        request.method == "POST" and request.url.path == "/api/v1/identities")
    harness.bridge.max_drops = 1
    harness.apply(journal_desired)

    assert harness.bridge.dropped == 1
    assert len(_identities(harness.world, "ci@github-prod")) == 1
    assert len(_identities(harness.world, "token-service@journal-prod")) == 1
    assert harness.plan(journal_desired) == ()


def test_reapplying_creates_after_a_crash_reuses_what_was_made(
    harness: Harness, journal_desired: DesiredState
) -> None:
    """A resumed run may replay creates whose outcome the journal did not record."""
    reconciler = harness.reconciler(journal_desired)
    reconciler.observe(markers={})
    plan = [c for c in reconciler.diff() if c.action.writes]
    for change in sorted(plan, key=lambda c: c.sort_key()):
        reconciler.apply(change)

    resumed = harness.reconciler(journal_desired)
    for change in sorted(plan, key=lambda c: c.sort_key()):
        resumed.apply(change)

    assert len(_identities(harness.world, "token-service@journal-prod")) == 1
    project_id = project_id_by_slug(harness.world, "journal")
    slugs = [r["slug"] for r in _state(harness.world).roles(project_id)]
    assert sorted(slugs) == ["ci-prod", "runtime-prod"]
    harness.markers.clear()
    assert harness.plan(journal_desired) == ()


def test_removing_one_of_two_bindings_keeps_the_other_role(
    harness: Harness, journal_desired: DesiredState
) -> None:
    ci_binding = next(b for b in journal_desired.bindings if b.name == "ci-ci-binding")
    extra = dataclasses.replace(ci_binding, name="token-service-ci-binding",
                                identity="token-service@journal-prod")
    wider = dataclasses.replace(journal_desired, bindings=(*journal_desired.bindings, extra))
    harness.apply(wider)
    identity_id = _identity(harness.world, "token-service@journal-prod")["id"]
    project_id = project_id_by_slug(harness.world, "journal")
    membership = _state(harness.world).membership(project_id, identity_id)
    assert membership is not None
    assert sorted(r["customRoleSlug"] for r in membership["roles"]) == ["ci-prod", "runtime-prod"]

    changes = harness.apply(journal_desired)

    assert [(c.kind, c.action, c.name, c.detail) for c in changes] == [
        ("binding", Action.DELETE, "token-service-ci-binding",
         "Identity: token-service@journal-prod -> Role: ci")]
    membership = _state(harness.world).membership(project_id, identity_id)
    assert membership is not None
    assert [r["customRoleSlug"] for r in membership["roles"]] == ["runtime-prod"]
    assert harness.plan(journal_desired) == ()
