"""Where the Infisical emulator keeps its objects, and the lookups everything else uses.

All state lives in ``world.store`` under vendor ``infisical`` so that a second process
opening the same sandbox directory sees the same organisation. Document kinds and keys:

    org                 <orgId>                        organisation
    project             <projectId>                    project, with its environments
    identity            <identityId>                   machine identity + its org membership
    ua                  <identityId>                   universal-auth configuration
    client_secret       <identityId>/<clientSecretId>  client secret (hash only, never the value)
    token_auth          <identityId>                   token-auth configuration
    access_token        <tokenId>                      issued access tokens (uses, TTL, revocation)
    service_token       <tokenId>                      legacy service token (hash, scopes)
    role                <projectId>/<roleId>           custom project role, rules stored packed
    project_membership  <projectId>/<identityId>       project identity membership with roles
    folder              <projectId>|<env>|<path>       secret folder ("/" is the root)
    secret              <projectId>|<env>|<path>|<name> secret
    secret_version      <secretId>|<version>           every version a secret had
    tag                 <projectId>/<tagId>            secret tag
    lockout             <clientId>                     failed-login counter for UA lockout
    meta                signing_key / operator         emulator internals

The module has no HTTP knowledge; it raises the vendor's 404s because every caller wants
exactly those.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from converge_sandbox.infisical.errors import not_found
from converge_sandbox.store import Document, View
from converge_sandbox.world import SandboxWorld

VENDOR = "infisical"


def new_id() -> str:
    return str(uuid.uuid4())


def hash_secret(value: str) -> str:
    """A one-way fingerprint of a credential; the emulator stores only these."""
    return hashlib.sha256(value.encode()).hexdigest()


def secret_key(project_id: str, environment: str, path: str, name: str) -> str:
    return f"{project_id}|{environment}|{path}|{name}"


def folder_key(project_id: str, environment: str, path: str) -> str:
    return f"{project_id}|{environment}|{path}"


class InfisicalState:
    """Typed access to the emulator's documents in the world store."""

    def __init__(self, world: SandboxWorld):
        self.world = world
        self.store = world.store

    # -- generic -------------------------------------------------------------
    def now(self) -> str:
        """The world clock as the service formats timestamps (ISO-8601, ms, ``Z``)."""
        moment = datetime.fromtimestamp(self.world.clock(), tz=UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

    def get(self, kind: str, key: str) -> Document | None:
        return self.store.get(VENDOR, kind, key)

    def put(self, kind: str, key: str, doc: Document) -> None:
        self.store.put(VENDOR, kind, key, doc)

    def delete(self, kind: str, key: str) -> bool:
        return self.store.delete(VENDOR, kind, key)

    def list_docs(self, kind: str, prefix: str = "") -> list[Document]:
        return self.store.list(VENDOR, kind, prefix)

    def views(self, kind: str, prefix: str = "") -> list[View]:
        """The stored documents themselves, to read only (``SandboxStore.views``)."""
        return self.store.views(VENDOR, kind, prefix)

    def view(self, kind: str, key: str) -> View | None:
        return self.store.view(VENDOR, kind, key)

    def find(self, kind: str, where: Callable[[View], bool], prefix: str = ""
             ) -> list[Document]:
        """Copies of the documents ``where`` accepts; the others are not copied."""
        return self.store.find(VENDOR, kind, where, prefix)

    def first(self, kind: str, where: Callable[[View], bool], prefix: str = ""
              ) -> Document | None:
        return self.store.first(VENDOR, kind, where, prefix)

    def reload(self, kind: str, key: str) -> Document | None:
        """A document another process may have written since this one opened the store."""
        return self.store.reload(VENDOR, kind, key)

    # -- internals -------------------------------------------------------------
    def signing_key(self) -> str:
        """The HMAC key access tokens are signed with, created once per sandbox (by the
        seed, so that every process opening the sandbox signs with the same key)."""
        doc = self.get("meta", "signing_key")
        if doc is None:
            doc = {"key": secrets.token_hex(32)}
            self.put("meta", "signing_key", doc)
        return str(doc["key"])

    def operator_identity_id(self) -> str | None:
        doc = self.get("meta", "operator")
        return str(doc["identityId"]) if doc else None

    # -- organisation ------------------------------------------------------------
    def org(self, org_id: str) -> Document:
        doc = self.get("org", org_id)
        if doc is None:
            raise not_found(f"Organization with ID '{org_id}' not found")
        return doc

    def org_by_slug(self, slug: str) -> Document | None:
        return self.first("org", lambda o: o["slug"] == slug)

    # -- projects ----------------------------------------------------------------
    def project(self, project_id: str) -> Document:
        doc = self.get("project", project_id)
        if doc is None:
            raise not_found(f"Project with ID '{project_id}' not found")
        return doc

    def project_by_slug(self, slug: str) -> Document:
        doc = self.first("project", lambda p: p["slug"] == slug)
        if doc is None:
            raise not_found(f"Project with slug '{slug}' not found")
        return doc

    def project_id_by_slug(self, slug: str) -> str:
        """The UUID of the project with ``slug`` (for tests and later code)."""
        return str(self.project_by_slug(slug)["id"])

    def environment(self, project: Document, slug: str) -> Document:
        env = next((e for e in project["environments"] if e["slug"] == slug), None)
        if env is None:
            raise not_found(
                f"Environment with slug '{slug}' in project with ID '{project['id']}' not found"
            )
        return dict(env)

    # -- identities ----------------------------------------------------------------
    def identity(self, identity_id: str) -> Document:
        doc = self.get("identity", identity_id)
        if doc is None:
            raise not_found(f"Failed to find identity with ID {identity_id}")
        return doc

    def ua(self, identity_id: str) -> Document:
        doc = self.get("ua", identity_id)
        if doc is None:
            raise not_found("Failed to find universal auth")
        return doc

    def ua_by_client_id(self, client_id: str) -> Document | None:
        return self.first("ua", lambda u: u["clientId"] == client_id)

    def client_secret(self, identity_id: str, client_secret_id: str) -> Document:
        doc = self.get("client_secret", f"{identity_id}/{client_secret_id}")
        if doc is None:
            raise not_found(f"Client secret with ID {client_secret_id} not found")
        return doc

    def auth_methods(self, identity_id: str) -> list[str]:
        methods = []
        if self.view("ua", identity_id) is not None:
            methods.append("universal-auth")
        if self.view("token_auth", identity_id) is not None:
            methods.append("token-auth")
        return methods

    # -- roles and memberships -----------------------------------------------------
    def roles(self, project_id: str) -> list[Document]:
        return self.list_docs("role", f"{project_id}/")

    def role_by_slug(self, project_id: str, slug: str) -> Document | None:
        return self.first("role", lambda r: r["slug"] == slug, f"{project_id}/")

    def role_by_id(self, role_id: str) -> Document | None:
        return self.first("role", lambda r: r["id"] == role_id)

    def membership(self, project_id: str, identity_id: str) -> Document | None:
        return self.get("project_membership", f"{project_id}/{identity_id}")

    # -- secrets ---------------------------------------------------------------------
    def secrets_at(
        self, project_id: str, environment: str, path: str, *, recursive: bool = False
    ) -> list[Document]:
        if not recursive:
            return self.list_docs("secret", f"{project_id}|{environment}|{path}|")
        below = path.rstrip("/") + "/"
        return self.find(
            "secret", lambda s: s["secretPath"] == path or s["secretPath"].startswith(below),
            f"{project_id}|{environment}|",
        )

    def secret(self, project_id: str, environment: str, path: str, name: str) -> Document | None:
        return self.get("secret", secret_key(project_id, environment, path, name))

    def folder(self, project_id: str, environment: str, path: str) -> Document | None:
        return self.get("folder", folder_key(project_id, environment, path))

    def require_folder(self, project_id: str, environment: str, path: str, *,
                       error: str = "NotFound") -> Document:
        """The folder at ``path``, or the service's 404 (``error`` is the name the calling
        service function gives it, e.g. ``CreateSecret``)."""
        doc = self.folder(project_id, environment, path)
        if doc is None:
            raise not_found(
                f"Folder with path '{path}' in environment with slug '{environment}' not found",
                name=error,
            )
        return doc

    def secret_value(self, project_slug: str, environment: str, path: str, name: str) -> str:
        """A secret's current value (for tests and later code; never logged)."""
        project_id = self.project_id_by_slug(project_slug)
        doc = self.secret(project_id, environment, path, name)
        if doc is None:
            raise not_found(f"Secret with name '{name}' not found")
        return str(doc["secretValue"])


def metadata_entries(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Identity metadata as stored and returned: each entry gains an id."""
    return [{"id": new_id(), "key": i["key"], "value": i["value"]} for i in items]
