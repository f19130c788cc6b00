"""Typed calls to the Infisical API over one pooled ``VendorHttp``: credentials, budgets, paths.

Credentials (architecture §5), first match wins:

1. ``config_path`` (``--config ~/.infisical/config.json``): a JSON object with ``apiUrl``
   (optional) and either ``clientId`` + ``clientSecret`` (and optionally
   ``organizationSlug``, sent with the Universal Auth login) or ``token``;
2. ``INFISICAL_CLIENT_ID`` + ``INFISICAL_CLIENT_SECRET``: a machine identity's Universal
   Auth credentials, what a team's automation holds: converge logs in, renews the access
   token before it expires and logs in again when the service will not renew it or
   refuses it mid-run, so a long run (``watch``) outlives any one token;
3. ``INFISICAL_TOKEN``: an access token, sent as is and renewed before it expires while
   the service allows (a token cannot be renewed once expired).

The token's life is ``tokens.TokenKeeper``'s business. ``INFISICAL_API_URL`` (or
``apiUrl``) overrides ``https://app.infisical.com``. A refused credential is a
``VendorAuthError`` (exit 4) naming the variable to fix; nothing here ever puts a token,
client secret or secret value into a message or a log.

Pacing: ``VendorHttp``'s budget is Infisical Cloud's global cap (600/min per client);
on top, each call takes a token from the bucket of its documented class — reads 200/min,
writes 90/min, secrets 120/min, identity creation 30/min.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from converge.errors import VendorAuthError, VendorError
from converge.vendors.http import (
    RateBudget,
    RequestCounter,
    Transport,
    VendorHttp,
    api_path,
    check_credential,
    is_unauthorized,
    json_object,
)
from converge.vendors.infisical import wire
from converge.vendors.infisical.tokens import TokenKeeper

VENDOR = "infisical"
DEFAULT_API_URL = "https://app.infisical.com"
TOKEN_VARIABLE = "INFISICAL_TOKEN"
CLIENT_VARIABLES = "INFISICAL_CLIENT_ID and INFISICAL_CLIENT_SECRET"
NOT_FOUND = frozenset({404})
# How the service answers a legacy service token it does not know: a 404, on any route.
UNKNOWN_SERVICE_TOKEN = "Service token with ID"


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
    """Read credentials from a config file or the environment.

    None found, or a config file that cannot be read, is ``VendorAuthError`` (exit 4, as
    a missing ``VERCEL_TOKEN`` is), naming the variables or the file to fix."""
    api_url = env.get("INFISICAL_API_URL") or DEFAULT_API_URL
    if config_path is not None:
        path = Path(config_path).expanduser()
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            raise _missing(
                f"cannot read the Infisical config file {path}",
                hint='it must be JSON like {"apiUrl": …, "clientId": …, "clientSecret": …}',
            ) from None
        if not isinstance(data, dict):
            raise _missing(
                f"the Infisical config file {path} is not a JSON object",
                hint='it must be JSON like {"apiUrl": …, "clientId": …, "clientSecret": …}',
            )
        url = str(data.get("apiUrl") or api_url)
        if data.get("clientId") and data.get("clientSecret"):
            return Credentials(
                url, client_id=str(data["clientId"]), client_secret=str(data["clientSecret"]),
                organization_slug=data.get("organizationSlug"),
                source=f"clientId/clientSecret in {path}",
            )
        if data.get("token"):
            return Credentials(url, token=str(data["token"]), source=f"token in {path}")
        raise _missing(
            f"the Infisical config file {path} has neither token nor clientId and clientSecret",
            hint="add clientId and clientSecret of a machine identity (or a token)",
        )
    if env.get("INFISICAL_CLIENT_ID") and env.get("INFISICAL_CLIENT_SECRET"):
        return Credentials(
            api_url, client_id=env["INFISICAL_CLIENT_ID"],
            client_secret=env["INFISICAL_CLIENT_SECRET"],
            organization_slug=env.get("INFISICAL_AUTH_ORGANIZATION_SLUG") or None,
            source=CLIENT_VARIABLES,
        )
    if env.get(TOKEN_VARIABLE):
        return Credentials(api_url, token=env[TOKEN_VARIABLE], source=TOKEN_VARIABLE)
    raise _missing(
        "no Infisical credentials: set INFISICAL_TOKEN, or INFISICAL_CLIENT_ID and "
        "INFISICAL_CLIENT_SECRET",
        hint="or pass --config with a JSON file holding clientId and clientSecret",
    )


def _missing(message: str, *, hint: str) -> VendorAuthError:
    """Credentials absent or unreadable: refused before any request, exit 4."""
    return VendorAuthError(message, vendor=VENDOR, hint=hint)


def _error_message(response: httpx.Response) -> str:
    """The vendor's ``error`` class and message (422 messages are lists of zod issues)."""
    body = json_object(response)
    message = body.get("message")
    if isinstance(message, list):
        message = "; ".join(str(i.get("message", "")) for i in message if isinstance(i, dict))
    error = body.get("error") or ""
    return f"{error}: {message}" if message else str(error)


def _auth_failure(response: httpx.Response) -> bool:
    """The service's answers to a credential it will not take, not to a permission it
    lacks: 401; 403 ``TokenError`` (expired, malformed or wrongly signed JWT); 403
    ``Forbidden access to <url>`` (a legacy service token on a route that takes none);
    404 for a service token it does not know."""
    if is_unauthorized(response):
        return True
    body = json_object(response)
    error, message = str(body.get("error") or ""), str(body.get("message") or "")
    if response.status_code == 403:
        return error == "TokenError" or error.startswith("Forbidden access to")
    return response.status_code == 404 and message.startswith(UNKNOWN_SERVICE_TOKEN)


class MintLost(Exception):  # noqa: N818 - a signal between client and resolver, not an error
    """A client-secret creation committed but its answer (the only copy of the value) was
    lost; ``secret`` is the record found by its unique description."""

    def __init__(self, secret: wire.ClientSecret):
        super().__init__(f"client secret {secret.id} was created but its answer was lost")
        self.secret = secret


def _found(response: httpx.Response) -> httpx.Response | None:
    return None if response.status_code == 404 else response


def _fake(body: dict[str, Any]) -> httpx.Response:
    """A response built from re-observed state, returned in place of a lost one."""
    return httpx.Response(200, json=body)


class InfisicalClient:
    """One method per endpoint converge uses; methods return wire models.

    ``http`` carries the bearer token; ``auth_http`` (same transport, same counter, no
    bearer) carries the login and renew calls, which a stale bearer would spoil."""

    def __init__(self, http: VendorHttp, credentials: Credentials,
                 auth_http: VendorHttp | None = None):
        self.http = http
        self.auth_http = auth_http or http
        self.credentials = credentials
        self.buckets = {
            "read": RateBudget(200),
            "write": RateBudget(90),
            "secrets": RateBudget(120),
            "identity-create": RateBudget(30),
        }
        self.tokens = TokenKeeper(
            self._post_unauthenticated, token=credentials.token,
            client_id=credentials.client_id, client_secret=credentials.client_secret,
            organization_slug=credentials.organization_slug,
        )
        self._sent: str | None = None

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
        from_env = creds.source == CLIENT_VARIABLES
        for value, variable in (
            (creds.token, creds.source),
            (creds.client_id, "INFISICAL_CLIENT_ID" if from_env else creds.source),
            (creds.client_secret, "INFISICAL_CLIENT_SECRET" if from_env else creds.source),
        ):
            if value is not None:
                check_credential(variable, value, vendor=VENDOR)
        budget = RateBudget(600)

        def vendor_http() -> VendorHttp:
            return VendorHttp(
                vendor=VENDOR,
                base_url=creds.api_url.rstrip("/"),
                headers={},
                credential_variable=creds.source,
                counter=counter,
                budget=budget,
                error_message=_error_message,
                auth_failure=_auth_failure,
                transport=transport,
            )

        return cls(vendor_http(), creds, auth_http=vendor_http())

    def close(self) -> None:
        self.http.close()
        if self.auth_http is not self.http:
            self.auth_http.close()

    # -- transport ---------------------------------------------------------------------
    def _post_unauthenticated(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """Login and renew: paced as writes, sent without the bearer."""
        self.buckets["write"].acquire()
        try:
            return self.auth_http.request("POST", path, json=body)
        except VendorAuthError as exc:
            raise self._refusal(exc) from None

    def _use_token(self) -> None:
        token = self.tokens.current()
        if token != self._sent:
            self.http.client.headers["Authorization"] = f"Bearer {token}"
            self._sent = token

    def _refusal(self, exc: VendorAuthError) -> VendorAuthError:
        source = self.credentials.source
        hint = f"set {source} to valid credentials"
        if (self.credentials.token or "").startswith("st."):
            hint = (f"{source} holds a legacy service token, which cannot manage identities, "
                    f"roles or memberships; set {CLIENT_VARIABLES} of a machine identity")
        elif self.credentials.token is not None and (
            self.tokens.expired() or "expired" in exc.message
        ):
            hint = (f"the access token in {source} has expired and cannot be renewed; set "
                    f"{CLIENT_VARIABLES} so converge can log in again, or a fresh token")
        return VendorAuthError(
            f"infisical refused the credentials from {source} ({exc.request}: {exc.status})",
            vendor=VENDOR, request=exc.request, status=exc.status, hint=hint,
        )

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """``VendorHttp.request``, where a 404 for an unknown service token (which the
        generic layer only knows as a 404, possibly an allowed one) is a refused
        credential."""
        what = f"{method} {path}"
        try:
            response = self.http.request(method, path, **kwargs)
        except VendorError as exc:
            if exc.status == 404 and UNKNOWN_SERVICE_TOKEN in exc.message:
                raise VendorAuthError(exc.message, vendor=VENDOR, request=what,
                                      status=404) from None
            raise
        if response.status_code == 404 and _auth_failure(response):
            raise VendorAuthError(f"infisical refused the credentials for {what} (404)",
                                  vendor=VENDOR, request=what, status=404)
        return response

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request with the current token; if the service refuses the token itself
        (expired by its clock, revoked), once more with a new one when we can get one."""
        self._use_token()
        try:
            return self._send(method, path, **kwargs)
        except VendorAuthError as exc:
            sent = self._sent or ""
            if not self.tokens.refused(sent):
                raise self._refusal(exc) from None
        self._use_token()
        try:
            return self._send(method, path, **kwargs)
        except VendorAuthError as exc:
            raise self._refusal(exc) from None

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
        self, identity_id: str, *, description: str, unique: bool = False
    ) -> tuple[str, wire.ClientSecret]:
        """Mint a client secret; returns (value, record). The value is shown only here.

        With ``unique`` (the description carries a mint nonce), a create whose answer was
        lost is looked for by its description before it is sent again: found, it raises
        ``MintLost`` (the secret exists but its value is gone for good: the caller revokes
        it and mints another with a new nonce); not found, the same request is re-sent.
        Without it a retry may mint a second secret (the first one's value is lost)."""
        path = self._ua_path(identity_id) + "/client-secrets"

        def reobserve() -> httpx.Response | None:
            for secret in self.list_client_secrets(identity_id):
                if secret.description == description:
                    raise MintLost(secret)
            return None

        response = self.request(
            "POST", path,
            json={"description": description, "numUsesLimit": 0, "ttl": 0},
            reobserve=reobserve if unique else None,
        )
        data = response.json()
        return str(data["clientSecret"]), wire.ClientSecret.model_validate(
            data["clientSecretData"]
        )

    def list_client_secrets(self, identity_id: str) -> list[wire.ClientSecret]:
        response = self.request("GET", self._ua_path(identity_id) + "/client-secrets")
        return [wire.ClientSecret.model_validate(c) for c in response.json()["clientSecretData"]]

    def revoke_client_secret(self, identity_id: str, client_secret_id: str) -> None:
        """Revoke one client secret (idempotent; one that is gone counts as revoked)."""
        self.request("POST",
                     self._ua_path(identity_id)
                     + api_path("/client-secrets/{}/revoke", client_secret_id),
                     allow_status=NOT_FOUND)

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
