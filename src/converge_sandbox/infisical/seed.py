"""The starting world of the Infisical emulator: what the example workspace expects.

Organisation ``acme`` with projects ``journal``, ``analytics`` and ``auth-service``, each
with the default ``dev``/``staging``/``prod`` environments a new Infisical project gets
(each with its root folder); an operator machine identity (org admin, admin of every
project, as a project creator is) whose universal-auth client id and secret are the
sandbox credentials, as a real team's automation would hold; the folders and secrets the
example workspace references, with random values that are never printed.

The sandbox prints no long-lived token: ``exports`` logs the operator in (the same
universal-auth login the API serves) and hands out the access token it returns, which
expires after the operator's ``accessTokenTTL`` and can be renewed, as on the service.

``seed`` is idempotent: it looks every object up by its natural key and only creates what
is missing, so running it on a persisted sandbox changes nothing (except creating the
folders that secrets stored before folders existed live in).
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from converge_sandbox.infisical import folders
from converge_sandbox.infisical.routes_auth import new_client_secret, universal_auth_login
from converge_sandbox.infisical.routes_identities import create_identity_doc
from converge_sandbox.infisical.routes_memberships import RoleAssignment, add_membership
from converge_sandbox.infisical.routes_secrets import store_secret
from converge_sandbox.infisical.state import InfisicalState, hash_secret, new_id
from converge_sandbox.infisical.trusted_ips import DEFAULT_TRUSTED_IPS, reshape_trusted_ips
from converge_sandbox.world import SandboxWorld

LOOPBACK = "127.0.0.1"

ORG_SLUG = "acme"
OPERATOR_NAME = "converge-operator"
DEFAULT_ENVIRONMENTS = (("Development", "dev"), ("Staging", "staging"), ("Production", "prod"))
PROJECTS = (("Journal", "journal"), ("Analytics", "analytics"), ("Auth Service", "auth-service"))
SECRETS: tuple[tuple[str, str, str, str], ...] = (
    ("journal", "prod", "/auth", "GITHUB_OAUTH_SECRET"),
    ("journal", "prod", "/runtime", "DATABASE_URL"),
    ("journal", "prod", "/runtime", "SESSION_SIGNING_KEY"),
    ("journal", "prod", "/ci", "DEPLOY_KEY"),
    ("auth-service", "prod", "/session", "SESSION_KEY"),
    ("analytics", "prod", "/dashboard", "METRICS_API_KEY"),
    ("analytics", "staging", "/dashboard", "METRICS_API_KEY"),
)


def _ensure_org(state: InfisicalState) -> dict[str, Any]:
    org = state.org_by_slug(ORG_SLUG)
    if org is None:
        now = state.now()
        org = {"id": new_id(), "name": "Acme", "slug": ORG_SLUG, "createdAt": now,
               "updatedAt": now}
        state.put("org", org["id"], org)
    return org


def _ensure_project(state: InfisicalState, org_id: str, name: str, slug: str) -> dict[str, Any]:
    existing = state.first("project", lambda p: p["slug"] == slug)
    if existing is not None:
        return existing
    return new_project(state, org_id, name, slug)


def new_project(state: InfisicalState, org_id: str, name: str, slug: str,
                extra_environments: tuple[str, ...] = ()) -> dict[str, Any]:
    """A project as the service creates one: the default environments (plus any of
    ``extra_environments`` not among them, as a person adds them in the dashboard)."""
    now = state.now()
    defaults = [slug for _, slug in DEFAULT_ENVIRONMENTS]
    environments = [*DEFAULT_ENVIRONMENTS,
                    *((environment_name(e), e) for e in extra_environments if e not in defaults)]
    project: dict[str, Any] = {
        "id": new_id(), "name": name, "slug": slug, "description": None,
        "type": "secret-manager", "defaultProduct": "secret-manager",
        "autoCapitalization": False, "orgId": org_id, "version": 3, "upgradeStatus": None,
        "pitVersionLimit": 10, "kmsCertificateKeyId": None, "auditLogsRetentionDays": None,
        "hasDeleteProtection": False, "createdAt": now, "updatedAt": now,
        "environments": [{"id": new_id(), "name": env_name, "slug": env_slug,
                          "position": position}
                         for position, (env_name, env_slug) in
                         enumerate(environments, start=1)],
    }
    state.put("project", project["id"], project)
    return project


def environment_name(slug: str) -> str:
    """``qa-eu`` -> ``Qa Eu``: the display name a person would give a new environment."""
    return " ".join(part.capitalize() for part in re.split(r"[-_]", slug) if part) or slug


def _ensure_folders(state: InfisicalState) -> None:
    """A root folder per environment, and the folder of every stored secret."""
    for project in state.list_docs("project"):
        for env in project["environments"]:
            folders.ensure_root(state, project, env)
    for secret in state.list_docs("secret"):
        owner = state.get("project", secret["projectId"])
        if owner is not None:
            folders.ensure_path(state, owner, secret["environment"], secret["secretPath"])


def _ensure_operator(state: InfisicalState, org_id: str) -> str:
    creds = state.world.credentials
    identity_id = state.operator_identity_id()
    if identity_id is None or state.get("identity", identity_id) is None:
        doc = create_identity_doc(state, name=OPERATOR_NAME, org_id=org_id, role="admin")
        identity_id = str(doc["id"])
    ua = state.get("ua", identity_id)
    if ua is None:
        now = state.now()
        ua = {
            "id": new_id(), "clientId": creds.infisical_client_id, "identityId": identity_id,
            "accessTokenTTL": 7200, "accessTokenMaxTTL": 2592000, "accessTokenNumUsesLimit": 0,
            "accessTokenPeriod": 0, "lockoutEnabled": False, "lockoutThreshold": 3,
            "lockoutDurationSeconds": 300, "lockoutCounterResetSeconds": 30,
            "clientSecretTrustedIps": reshape_trusted_ips(DEFAULT_TRUSTED_IPS),
            "accessTokenTrustedIps": reshape_trusted_ips(DEFAULT_TRUSTED_IPS),
            "createdAt": now, "updatedAt": now,
        }
    ua["clientId"] = creds.infisical_client_id
    state.put("ua", identity_id, ua)
    wanted = hash_secret(creds.infisical_client_secret)
    current = state.list_docs("client_secret", f"{identity_id}/")
    if not any(s["secretHash"] == wanted and not s["isClientSecretRevoked"] for s in current):
        new_client_secret(state, identity_id, description="sandbox operator",
                          value=creds.infisical_client_secret)
    # The pointer goes last: another process reading the store while this one seeds (the
    # ``converge sandbox env`` of a sandbox just started) sees a whole operator or none.
    state.put("meta", "operator", {"identityId": identity_id})
    return identity_id


def _random_value(name: str) -> str:
    token = secrets.token_urlsafe(24)
    if name == "DATABASE_URL":
        return f"postgresql://app:{token}@db.internal:5432/app"
    return token


def seed(world: SandboxWorld) -> None:
    """Create whatever of the starting world is missing (idempotent)."""
    state = InfisicalState(world)
    state.signing_key()
    org = _ensure_org(state)
    operator_id = _ensure_operator(state, org["id"])
    projects = {slug: _ensure_project(state, org["id"], name, slug) for name, slug in PROJECTS}
    for project in projects.values():
        if state.membership(project["id"], operator_id) is None:
            add_membership(state, project["id"], operator_id, [RoleAssignment(role="admin")])
    operator = state.identity(operator_id)
    _ensure_folders(state)
    for slug, env, path, name in SECRETS:
        project = projects[slug]
        if state.secret(project["id"], env, path, name) is not None:
            continue
        folder = folders.ensure_path(state, project, env, path)
        now = state.now()
        membership = state.membership(project["id"], operator_id) or {"id": None}
        doc = {
            "id": new_id(), "projectId": project["id"], "folderId": folder["id"],
            "environment": env, "secretPath": path,
            "secretKey": name, "secretValue": _random_value(name), "secretComment": "",
            "version": 1, "type": "shared", "secretReminderNote": None,
            "secretReminderRepeatDays": None, "skipMultilineEncoding": False,
            "isRotatedSecret": False, "rotationId": None, "secretMetadata": [], "tags": [],
            "actor": {"actorId": operator_id, "actorType": "identity",
                      "name": operator["name"], "membershipId": membership["id"],
                      "groupId": None},
            "createdAt": now, "updatedAt": now,
        }
        store_secret(state, doc)


# -- what the sandbox prints -------------------------------------------------------------

def operator_access_token(world: SandboxWorld) -> str:
    """A fresh access token for the operator, from a universal-auth login with the
    sandbox's client id and secret: the token a real team's automation would hold."""
    state = InfisicalState(world)
    creds = world.credentials
    identity_id = state.operator_identity_id()
    if (
        identity_id is None
        or state.get("meta", "signing_key") is None
        or state.ua_by_client_id(creds.infisical_client_id) is None
        or not state.list_docs("client_secret", f"{identity_id}/")
    ):
        # Still seeding (or seeded by an older sandbox): a login now would fail and count
        # towards the operator's lockout.
        raise LookupError("the Infisical sandbox is not seeded")
    token, _ = universal_auth_login(state, creds.infisical_client_id,
                                    creds.infisical_client_secret, ip=LOOPBACK)
    return token


def exports(world: SandboxWorld) -> dict[str, str]:
    """The variables the Infisical emulator issues when the sandbox prints its environment
    (``INFISICAL_TOKEN``: a login-issued access token that expires and can be renewed)."""
    return {"INFISICAL_TOKEN": operator_access_token(world)}


def create_service_token(
    world: SandboxWorld, project_slug: str, *, scopes: list[dict[str, str]],
    permissions: list[str], name: str = "legacy", expires_in: float | None = None,
) -> str:
    """A legacy service token (``st.<id>.<secret>``) as a person would create one in the
    dashboard (the API to create them needs a user session, which the sandbox has not):
    scoped to environments and path globs of one project, ``read`` and/or ``write``."""
    state = InfisicalState(world)
    token_id = new_id()
    plaintext = secrets.token_hex(16)
    state.put("service_token", token_id, {
        "id": token_id, "name": name, "projectId": state.project_id_by_slug(project_slug),
        "scopes": scopes, "permissions": permissions, "secretHash": hash_secret(plaintext),
        "expiresAtEpoch": world.clock() + expires_in if expires_in is not None else None,
        "createdAt": state.now(),
    })
    return f"st.{token_id}.{plaintext}"

# -- lookups for tests and later code ----------------------------------------------------

def org_id(world: SandboxWorld) -> str:
    org = InfisicalState(world).org_by_slug(ORG_SLUG)
    if org is None:
        raise LookupError("the Infisical sandbox is not seeded")
    return str(org["id"])


def project_id_by_slug(world: SandboxWorld, slug: str) -> str:
    return InfisicalState(world).project_id_by_slug(slug)


def operator_identity_id(world: SandboxWorld) -> str:
    identity_id = InfisicalState(world).operator_identity_id()
    if identity_id is None:
        raise LookupError("the Infisical sandbox is not seeded")
    return identity_id


def secret_value(world: SandboxWorld, project_slug: str, environment: str, path: str,
                 name: str) -> str:
    """A secret's current value; for assertions, never for printing."""
    return InfisicalState(world).secret_value(project_slug, environment, path, name)
