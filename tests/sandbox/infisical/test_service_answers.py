"""The service's answers, as raw requests: missing and bad tokens, access-token renewal
and revocation, legacy service tokens, unknown tags, secret versions and references."""

from __future__ import annotations

import time

import jwt
from starlette.applications import Starlette

from converge_sandbox.infisical.seed import create_service_token, operator_access_token
from converge_sandbox.world import SandboxWorld
from tests.sandbox.infisical.helpers import Api, mint_identity

RENEW = "/api/v1/auth/token/renew"
REVOKE = "/api/v1/auth/token/revoke"
DETAILS = "/api/v1/identities/details"
UA = "/api/v1/auth/universal-auth/identities"


def _answer(response: object) -> tuple[int, str, object]:
    body = response.json()  # type: ignore[attr-defined]
    return response.status_code, body["error"], body["message"]  # type: ignore[attr-defined]


def _advance(world: SandboxWorld, seconds: float) -> None:
    world.clock = lambda: time.time() + seconds


# -- tokens ----------------------------------------------------------------------------------

def test_missing_token_is_401_token_missing(app: Starlette) -> None:
    assert _answer(Api(app).get(DETAILS)) == (401, "UnauthorizedError", "Token missing")


def test_malformed_and_forged_tokens_are_403_token_errors(app: Starlette) -> None:
    forged = jwt.encode({"identityId": "x", "authTokenType": "identityAccessToken"},
                        "a-guessed-signing-key-of-enough-length", algorithm="HS256")
    assert _answer(Api(app, token="not-a-jwt").get(DETAILS)) == (
        403, "TokenError", "The provided access token is malformed. Please use a valid token "
                           "or generate a new one and try again.")
    assert _answer(Api(app, token=forged).get(DETAILS)) == (403, "TokenError",
                                                            "invalid signature")


def test_a_bad_token_is_refused_even_on_the_login_route(api: Api, world: SandboxWorld) -> None:
    """The service checks any bearer before every route, login included."""
    creds = world.credentials
    response = api.post("/api/v1/auth/universal-auth/login", token="not-a-jwt",
                        json={"clientId": creds.infisical_client_id,
                              "clientSecret": creds.infisical_client_secret})
    assert response.status_code == 403


def test_renew_extends_a_live_token_with_a_new_jwt(app: Starlette, world: SandboxWorld) -> None:
    token = operator_access_token(world)
    _advance(world, 7000)

    renewed = Api(app).post(RENEW, json={"accessToken": token})
    _advance(world, 7300)  # past the original expiry, inside the renewed one
    new_token = renewed.json()["accessToken"]

    assert renewed.status_code == 200
    assert renewed.json() | {"accessToken": ""} == {
        "accessToken": "", "expiresIn": 7200, "accessTokenMaxTTL": 2592000,
        "tokenType": "Bearer"}
    assert Api(app, token=new_token).get(DETAILS).status_code == 200
    assert _answer(Api(app, token=token).get(DETAILS)) == (
        403, "TokenError", "Your token has expired. Please re-authenticate.")


def test_an_expired_token_cannot_be_renewed(app: Starlette, world: SandboxWorld) -> None:
    token = operator_access_token(world)
    _advance(world, 7201)
    assert _answer(Api(app).post(RENEW, json={"accessToken": token})) == (
        403, "TokenError", "Your token has expired. Please re-authenticate.")


def test_renewal_past_the_max_ttl_is_refused(api: Api, app: Starlette, org: str,
                                             world: SandboxWorld) -> None:
    identity_id, client_id, secret = mint_identity(api, org, "short-lived")
    api.patch(f"{UA}/{identity_id}", json={"accessTokenTTL": 600, "accessTokenMaxTTL": 900})
    token = api.login(client_id, secret)
    _advance(world, 500)

    refused = Api(app).post(RENEW, json={"accessToken": token})

    assert _answer(refused) == (401, "UnauthorizedError",
                                "Failed to renew MI access token past its Max TTL expiration")


def test_revoked_token_is_refused_and_cannot_be_renewed(app: Starlette,
                                                        world: SandboxWorld) -> None:
    token = operator_access_token(world)
    revoked = Api(app).post(REVOKE, json={"accessToken": token})

    assert revoked.json() == {"message": "Successfully revoked access token"}
    assert _answer(Api(app, token=token).get(DETAILS)) == (
        401, "UnauthorizedError", "No identity access token found")
    assert _answer(Api(app).post(RENEW, json={"accessToken": token}))[0] == 401


def test_token_past_its_use_limit_gets_the_services_message(
    api: Api, app: Starlette, org: str
) -> None:
    identity_id, client_id, secret = mint_identity(api, org, "one-shot")
    api.patch(f"{UA}/{identity_id}", json={"accessTokenNumUsesLimit": 1})
    client = Api(app, token=api.login(client_id, secret))

    assert client.get(DETAILS).status_code == 200
    assert _answer(client.get(DETAILS)) == (
        401, "UnauthorizedError",
        "Unable to renew because access token number of uses limit reached")


# -- legacy service tokens ------------------------------------------------------------------

def test_a_service_token_cannot_manage_identities_roles_or_memberships(
    app: Starlette, world: SandboxWorld, org: str, journal: str
) -> None:
    token = create_service_token(world, "journal", permissions=["read", "write"],
                                 scopes=[{"environment": "prod", "secretPath": "/**"}])
    client = Api(app, token=token)
    answers = [
        client.get("/api/v1/identities", params={"orgId": org}),
        client.post("/api/v1/identities", json={"name": "x", "organizationId": org}),
        client.post(f"/api/v1/projects/{journal}/roles",
                    json={"slug": "x", "name": "X", "permissions": []}),
        client.get(f"/api/v1/projects/{journal}/identity-memberships"),
    ]

    assert [(r.status_code, r.json()["message"]) for r in answers] == \
        [(403, "You are not allowed to access this resource")] * 4
    assert answers[0].json()["error"] == f"Forbidden access to /api/v1/identities?orgId={org}"


def test_a_service_token_reads_secrets_only_within_its_scope(
    app: Starlette, world: SandboxWorld, journal: str
) -> None:
    token = create_service_token(world, "journal", permissions=["read"],
                                 scopes=[{"environment": "prod", "secretPath": "/runtime/**"}])
    client = Api(app, token=token)
    where = {"workspaceId": journal, "environment": "prod"}

    inside = client.get("/api/v3/secrets/raw/DATABASE_URL",
                        params={**where, "secretPath": "/runtime"})
    outside = client.get("/api/v3/secrets/raw/DEPLOY_KEY", params={**where, "secretPath": "/ci"})
    write = client.post("/api/v3/secrets/raw/NEW",
                        json={**where, "secretPath": "/runtime", "secretValue": "x"})

    assert inside.status_code == 200
    assert (outside.status_code, write.status_code) == (403, 403)


def test_unknown_and_expired_service_tokens(app: Starlette, world: SandboxWorld) -> None:
    expiring = create_service_token(world, "journal", permissions=["read"], expires_in=60,
                                    scopes=[{"environment": "prod", "secretPath": "/"}])
    unknown = Api(app, token="st.00000000-0000-4000-8000-000000000000.abc").get(DETAILS)
    _advance(world, 120)

    assert _answer(unknown) == (
        404, "NotFound",
        "Service token with ID '00000000-0000-4000-8000-000000000000' not found")
    assert _answer(Api(app, token=expiring).get(DETAILS)) == (
        403, "ForbiddenError", "Service token has expired")


# -- tags, versions, references --------------------------------------------------------------

def test_unknown_tag_ids_are_refused(api: Api, journal: str) -> None:
    where = {"workspaceId": journal, "environment": "prod", "secretPath": "/runtime"}
    created = api.post("/api/v3/secrets/raw/TAGGED", json={
        **where, "secretValue": "x", "tagIds": ["00000000-0000-4000-8000-000000000000"]})
    updated = api.patch("/api/v3/secrets/raw/DATABASE_URL", json={
        **where, "tagIds": ["00000000-0000-4000-8000-000000000000"]})

    assert _answer(created) == (404, "NotFound", "Tag not found. Found ")
    assert _answer(updated) == (404, "NotFound", "Tag not found. Found ")


def test_every_version_of_a_secret_stays_readable(api: Api, journal: str) -> None:
    where = {"workspaceId": journal, "environment": "prod", "secretPath": "/runtime"}
    api.post("/api/v3/secrets/raw/ROTATING", json={**where, "secretValue": "one"})
    api.patch("/api/v3/secrets/raw/ROTATING", json={**where, "secretValue": "two"})

    def read(**extra: str) -> tuple[int, str]:
        secret = api.get("/api/v3/secrets/raw/ROTATING", params={**where, **extra}).json()
        return secret["secret"]["version"], secret["secret"]["secretValue"]

    assert read() == (2, "two")
    assert read(version="1") == (1, "one")
    assert read(version="2") == (2, "two")
    missing = api.get("/api/v3/secrets/raw/ROTATING", params={**where, "version": "9"})
    assert _answer(missing) == (404, "NotFound", "Secret with name 'ROTATING' not found")


def test_a_reference_to_a_missing_secret_is_refused(api: Api, journal: str) -> None:
    where = {"workspaceId": journal, "environment": "prod", "secretPath": "/runtime"}
    local = api.post("/api/v3/secrets/raw/DSN", json={**where, "secretValue": "${NOPE}"})
    other = api.post("/api/v3/secrets/raw/DSN", json={**where,
                                                      "secretValue": "${prod.gone.KEY}"})
    assert _answer(local) == (400, "BadRequest", "Referenced secret(s) not found: NOPE")
    assert _answer(other) == (400, "BadRequest", "Referenced path /gone doesn't exist")
