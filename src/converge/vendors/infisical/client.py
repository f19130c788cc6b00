"""Typed calls to the Infisical API over one pooled ``VendorHttp``: credentials, budgets, paths.

Credentials (DESIGN §5), first match wins:

1. ``config_path`` (``--config ~/.infisical/config.json``): a JSON object with ``apiUrl``
   (optional) and either ``token`` or ``clientId`` + ``clientSecret`` (and optionally
   ``organizationSlug``, sent with the Universal Auth login);
2. ``INFISICAL_TOKEN``: used as the bearer token as is;
3. ``INFISICAL_CLIENT_ID`` + ``INFISICAL_CLIENT_SECRET``: a Universal Auth login, whose
   access token is cached and renewed a minute before it expires.

``INFISICAL_API_URL`` (or ``apiUrl``) overrides ``https://app.infisical.com``. A refused
credential is a ``VendorAuthError`` (exit 4) naming the variable to fix; nothing here ever
puts a token, client secret or secret value into a message or a log.

Pacing: ``VendorHttp``'s budget is Infisical Cloud's global cap (600/min per client);
on top, each call takes a token from the bucket of its documented class — reads 200/min,
writes 90/min, secrets 120/min, identity creation 30/min.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from converge.errors import ConvergeError, VendorAuthError
from converge.vendors.http import (
    RateBudget,
    RequestCounter,
    Transport,
    VendorHttp,
    api_path,
    is_unauthorized,
    json_object,
)
from converge.vendors.infisical import wire

VENDOR = "infisical"
DEFAULT_API_URL = "https://app.infisical.com"
TOKEN_VARIABLE = "INFISICAL_TOKEN"
CLIENT_VARIABLES = "INFISICAL_CLIENT_ID and INFISICAL_CLIENT_SECRET"
RENEW_MARGIN = 60.0
NOT_FOUND = frozenset({404})


@dataclass(frozen=True)
class Credentials:
    """Where the credential came from is kept so an auth error names the right variable."""

    api_url: str
    token: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    organization_slug: str | None = None
    source: str = TOKEN_VARIABLE

    def __repr__(self) -> str:  # never show the secret parts
        return f"Credentials(api_url={self.api_url!r}, source={self.source!r})"


def load_credentials(env: Mapping[str, str], config_path: str | Path | None = None) -> Credentials:
    """Read credentials from a config file or the environment; none found is a ConvergeError."""
    api_url = env.get("INFISICAL_API_URL") or DEFAULT_API_URL
    if config_path is not None:
        path = Path(config_path).expanduser()
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            raise ConvergeError(
                f"cannot read the Infisical config file {path}",
                hint='it must be JSON like {"apiUrl": …, "clientId": …, "clientSecret": …}',
            ) from None
        if not isinstance(data, dict):
            raise ConvergeError(f"the Infisical config file {path} is not a JSON object")
        url = str(data.get("apiUrl") or api_url)
        if data.get("token"):
            return Credentials(url, token=str(data["token"]), source=f"token in {path}")
        if data.get("clientId") and data.get("clientSecret"):
            return Credentials(
                url, client_id=str(data["clientId"]), client_secret=str(data["clientSecret"]),
                organization_slug=data.get("organizationSlug"),
                source=f"clientId/clientSecret in {path}",
            )
        raise ConvergeError(
            f"the Infisical config file {path} has neither token nor clientId and clientSecret",
        )
    if env.get(TOKEN_VARIABLE):
        return Credentials(api_url, token=env[TOKEN_VARIABLE], source=TOKEN_VARIABLE)
    if env.get("INFISICAL_CLIENT_ID") and env.get("INFISICAL_CLIENT_SECRET"):
        return Credentials(
            api_url, client_id=env["INFISICAL_CLIENT_ID"],
            client_secret=env["INFISICAL_CLIENT_SECRET"],
            organization_slug=env.get("INFISICAL_AUTH_ORGANIZATION_SLUG") or None,
            source=CLIENT_VARIABLES,
        )
    raise ConvergeError(
        "no Infisical credentials: set INFISICAL_TOKEN, or INFISICAL_CLIENT_ID and "
        "INFISICAL_CLIENT_SECRET",
        hint="or pass --config with a JSON file holding clientId and clientSecret",
    )


def _error_message(response: httpx.Response) -> str:
    """The vendor's ``error`` class and message (422 messages are lists of zod issues)."""
    body = json_object(response)
    message = body.get("message")
    if isinstance(message, list):
        message = "; ".join(str(i.get("message", "")) for i in message if isinstance(i, dict))
    error = body.get("error") or ""
    return f"{error}: {message}" if message else str(error)


def _auth_failure(response: httpx.Response) -> bool:
    """401, or a 403 ``TokenError`` (expired or malformed token); not a permission refusal."""
    return is_unauthorized(response) or json_object(response).get("error") == "TokenError"


def _found(response: httpx.Response) -> httpx.Response | None:
    return None if response.status_code == 404 else response


def _fake(body: dict[str, Any]) -> httpx.Response:
    """A response built from re-observed state, returned in place of a lost one."""
    return httpx.Response(200, json=body)


class InfisicalClient:
    """One method per endpoint converge uses; methods return wire models."""

    def __init__(self, http: VendorHttp, credentials: Credentials):
        self.http = http
        self.credentials = credentials
        self._expires_at = 0.0
        self._login_lock = threading.Lock()
        self.buckets = {
            "read": RateBudget(200),
            "write": RateBudget(90),
            "secrets": RateBudget(120),
            "identity-create": RateBudget(30),
        }

    @classmethod
    def from_environment(
        cls,
        env: Mapping[str, str],
        *,
        counter: RequestCounter,
        transport: Transport | None = None,
        config_path: str | Path | None = None,
    ) -> InfisicalClient:
        creds = load_credentials(env, config_path)
        headers = {"Authorization": f"Bearer {creds.token}"} if creds.token else {}
        http = VendorHttp(
            vendor=VENDOR,
            base_url=creds.api_url.rstrip("/"),
            headers=headers,
            credential_variable=creds.source,
            counter=counter,
            budget=RateBudget(600),
            error_message=_error_message,
            auth_failure=_auth_failure,
            transport=transport,
        )
        return cls(http, creds)

    def close(self) -> None:
        self.http.close()

    # -- transport ---------------------------------------------------------------------
    def _ensure_token(self) -> None:
        if self.credentials.token is not None:
            return
        with self._login_lock:
            if time.monotonic() < self._expires_at - RENEW_MARGIN:
                return
            body: dict[str, Any] = {"clientId": self.credentials.client_id,
                                    "clientSecret": self.credentials.client_secret}
            if self.credentials.organization_slug:
                body["organizationSlug"] = self.credentials.organization_slug
            self.buckets["write"].acquire()
            response = self._call("POST", "/api/v1/auth/universal-auth/login", json=body)
            data = response.json()
            self.http.client.headers["Authorization"] = f"Bearer {data['accessToken']}"
            self._expires_at = time.monotonic() + float(data.get("expiresIn") or 0)

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, path, **kwargs)
        except VendorAuthError as exc:
            raise VendorAuthError(
                f"infisical refused the credentials from {self.credentials.source} "
                f"({exc.request}: {exc.status})",
                vendor=VENDOR, request=exc.request, status=exc.status,
                hint=f"set {self.credentials.source} to valid credentials",
            ) from None

    def request(
        self,
        method: str,
        path: str,
        *,
        bucket: str | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        reobserve: Callable[[], httpx.Response | None] | None = None,
        allow_status: frozenset[int] = frozenset(),
    ) -> httpx.Response:
        """One API call, paced by its rate class (``read`` for GET, ``write`` otherwise)."""
        self._ensure_token()
        self.buckets[bucket or ("read" if method == "GET" else "write")].acquire()
        return self._call(method, path, params=params, json=json, reobserve=reobserve,
                          allow_status=allow_status)

    # -- projects ---------------------------------------------------------------------
    def get_project(self, slug: str) -> wire.Project:
        response = self.request("GET", api_path("/api/v1/projects/slug/{}", slug))
        return wire.Project.model_validate(response.json()["project"])

    # -- identities ---------------------------------------------------------------------
    def list_identities(self, org_id: str) -> list[wire.OrgIdentity]:
        response = self.request("GET", "/api/v1/identities", params={"orgId": org_id})
        return [wire.OrgIdentity.model_validate(i) for i in response.json()["identities"]]

    def get_identity(self, identity_id: str) -> wire.OrgIdentity | None:
        response = self.request("GET", api_path("/api/v1/identities/{}", identity_id),
                                allow_status=NOT_FOUND)
        if response.status_code == 404:
            return None
        return wire.OrgIdentity.model_validate(response.json()["identity"])

    def create_identity(
        self, *, name: str, org_id: str, metadata: list[dict[str, str]],
        is_ours: Callable[[wire.OrgIdentity], bool],
    ) -> wire.IdentityRow:
        """``is_ours`` tells whether an identity of that name found after a lost answer is
        the one this call created (it carries our ownership marker)."""

        def reobserve() -> httpx.Response | None:
            for row in self.list_identities(org_id):
                if row.identity.name != name:
                    continue
                detail = self.get_identity(row.identity.id)
                if detail is not None and is_ours(detail):
                    meta = [m.model_dump() for m in detail.metadata or []]
                    return _fake({"identity": {"id": detail.identity.id, "name": name,
                                               "updatedAt": detail.updatedAt,
                                               "metadata": meta}})
            return None

        response = self.request(
            "POST", "/api/v1/identities", bucket="identity-create",
            json={"name": name, "organizationId": org_id, "role": "no-access",
                  "metadata": metadata},
            reobserve=reobserve,
        )
        return wire.IdentityRow.model_validate(response.json()["identity"])

    def update_identity(
        self, identity_id: str, *, metadata: list[dict[str, str]]
    ) -> wire.IdentityRow:
        response = self.request("PATCH", api_path("/api/v1/identities/{}", identity_id),
                                json={"metadata": metadata})
        return wire.IdentityRow.model_validate(response.json()["identity"])

    def delete_identity(self, identity_id: str) -> None:
        self.request("DELETE", api_path("/api/v1/identities/{}", identity_id),
                     allow_status=NOT_FOUND)

    # -- universal auth -------------------------------------------------------------------
    def _ua_path(self, identity_id: str) -> str:
        return api_path("/api/v1/auth/universal-auth/identities/{}", identity_id)

    def get_universal_auth(self, identity_id: str) -> wire.UniversalAuth | None:
        response = self.request("GET", self._ua_path(identity_id), allow_status=NOT_FOUND)
        if response.status_code == 404:
            return None
        return wire.UniversalAuth.model_validate(response.json()["identityUniversalAuth"])

    def attach_universal_auth(
        self, identity_id: str, settings: Mapping[str, Any]
    ) -> wire.UniversalAuth:
        path = self._ua_path(identity_id)
        response = self.request(
            "POST", path, json=dict(settings),
            reobserve=lambda: _found(self.request("GET", path, allow_status=NOT_FOUND)),
        )
        return wire.UniversalAuth.model_validate(response.json()["identityUniversalAuth"])

    def update_universal_auth(
        self, identity_id: str, settings: Mapping[str, Any]
    ) -> wire.UniversalAuth:
        response = self.request("PATCH", self._ua_path(identity_id), json=dict(settings))
        return wire.UniversalAuth.model_validate(response.json()["identityUniversalAuth"])

    def create_client_secret(
        self, identity_id: str, *, description: str
    ) -> tuple[str, wire.ClientSecret]:
        """Mint a client secret; returns (value, record). The value is shown only here.
        No re-observation: a secret whose answer was lost cannot be recovered, so a retry
        mints another (the lost one stays unusable; rotation revokes it)."""
        response = self.request(
            "POST", self._ua_path(identity_id) + "/client-secrets",
            json={"description": description, "numUsesLimit": 0, "ttl": 0},
        )
        data = response.json()
        return str(data["clientSecret"]), wire.ClientSecret.model_validate(
            data["clientSecretData"]
        )

    def list_client_secrets(self, identity_id: str) -> list[wire.ClientSecret]:
        response = self.request("GET", self._ua_path(identity_id) + "/client-secrets")
        return [wire.ClientSecret.model_validate(c) for c in response.json()["clientSecretData"]]

    def revoke_client_secret(self, identity_id: str, client_secret_id: str) -> None:
        self.request("POST",
                     self._ua_path(identity_id)
                     + api_path("/client-secrets/{}/revoke", client_secret_id))

    # -- project roles ---------------------------------------------------------------------
    def _roles_path(self, project_id: str) -> str:
        return api_path("/api/v1/projects/{}/roles", project_id)

    def list_roles(self, project_id: str) -> list[wire.Role]:
        response = self.request("GET", self._roles_path(project_id))
        return [wire.Role.model_validate(r) for r in response.json()["roles"]]

    def get_role(self, project_id: str, slug: str) -> wire.Role | None:
        response = self.request(
            "GET", self._roles_path(project_id) + api_path("/slug/{}", slug),
            allow_status=NOT_FOUND,
        )
        if response.status_code == 404:
            return None
        return wire.Role.model_validate(response.json()["role"])

    def create_role(self, project_id: str, body: Mapping[str, Any]) -> wire.Role:
        slug = str(body["slug"])

        def reobserve() -> httpx.Response | None:
            found = self.get_role(project_id, slug)
            return _fake({"role": found.model_dump()}) if found is not None else None

        response = self.request("POST", self._roles_path(project_id), json=dict(body),
                                reobserve=reobserve)
        return wire.Role.model_validate(response.json()["role"])

    def update_role(self, project_id: str, role_id: str, body: Mapping[str, Any]) -> wire.Role:
        response = self.request("PATCH", self._roles_path(project_id) + api_path("/{}", role_id),
                                json=dict(body))
        return wire.Role.model_validate(response.json()["role"])

    def delete_role(self, project_id: str, role_id: str) -> None:
        self.request("DELETE", self._roles_path(project_id) + api_path("/{}", role_id),
                     allow_status=NOT_FOUND)

    # -- project identity memberships ----------------------------------------------------------
    def _memberships_path(self, project_id: str) -> str:
        return api_path("/api/v1/projects/{}/identity-memberships", project_id)

    def _membership_path(self, project_id: str, identity_id: str) -> str:
        return api_path("/api/v1/projects/{}/identity-memberships/{}", project_id, identity_id)

    def list_memberships(self, project_id: str) -> list[wire.Membership]:
        """Every membership; one request unless the project has more than 20000."""
        found: list[wire.Membership] = []
        offset = 0
        while True:
            response = self.request("GET", self._memberships_path(project_id),
                                    params={"offset": offset, "limit": 20000})
            data = response.json()
            page = [wire.Membership.model_validate(m) for m in data["identityMemberships"]]
            found += page
            offset += len(page)
            if not page or offset >= int(data.get("totalCount", 0)):
                return found

    def get_membership(self, project_id: str, identity_id: str) -> wire.Membership | None:
        response = self.request("GET", self._membership_path(project_id, identity_id),
                                allow_status=NOT_FOUND)
        if response.status_code == 404:
            return None
        return wire.Membership.model_validate(response.json()["identityMembership"])

    def create_membership(self, project_id: str, identity_id: str, roles: list[str]) -> None:
        path = self._membership_path(project_id, identity_id)
        self.request(
            "POST", path, json={"roles": [{"role": r} for r in roles]},
            reobserve=lambda: _found(self.request("GET", path, allow_status=NOT_FOUND)),
        )

    def update_membership(self, project_id: str, identity_id: str, roles: list[str]) -> None:
        self.request("PATCH", self._membership_path(project_id, identity_id),
                     json={"roles": [{"role": r} for r in roles]})

    def delete_membership(self, project_id: str, identity_id: str) -> None:
        self.request("DELETE", self._membership_path(project_id, identity_id),
                     allow_status=NOT_FOUND)

    # -- secrets ----------------------------------------------------------------------------
    def get_secret_value(self, project_id: str, environment: str, path: str, name: str) -> str:
        """One secret's value (v3 raw). Never logged by converge."""
        response = self.request(
            "GET", api_path("/api/v3/secrets/raw/{}", name), bucket="secrets",
            params={"workspaceId": project_id, "environment": environment,
                    "secretPath": path, "viewSecretValue": "true",
                    "expandSecretReferences": "true"},
        )
        return wire.Secret.model_validate(response.json()["secret"]).secretValue

    def list_secret_names(
        self, project_id: str, environment: str, *, path: str = "/", recursive: bool = True
    ) -> list[wire.SecretName]:
        """The name and folder of every secret at ``path`` (and below, ``recursive``) in
        one environment, asked for without values (``viewSecretValue=false``): what
        ``converge import`` needs to name ``secret/<env>/<path>/<NAME>`` references."""
        response = self.request(
            "GET", "/api/v3/secrets/raw", bucket="secrets",
            params={"workspaceId": project_id, "environment": environment,
                    "secretPath": path, "viewSecretValue": "false",
                    "recursive": "true" if recursive else "false"},
        )
        return [wire.SecretName.model_validate(s) for s in response.json()["secrets"]]
