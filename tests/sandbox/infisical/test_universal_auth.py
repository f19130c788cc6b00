"""Universal auth: login, configuration, client secrets, trusted IPs, lockout, tokens."""

from __future__ import annotations

import jwt
from starlette.applications import Starlette

from converge_sandbox.infisical.seed import operator_access_token, operator_identity_id
from converge_sandbox.world import SandboxWorld
from tests.sandbox.infisical.helpers import Api, mint_identity

UA = "/api/v1/auth/universal-auth/identities"
LOGIN = "/api/v1/auth/universal-auth/login"


def test_login_returns_bearer_token_with_configured_ttl(api: Api, org: str) -> None:
    identity_id, client_id, secret = mint_identity(api, org, "ttl-bot")
    api.patch(f"{UA}/{identity_id}", json={"accessTokenTTL": 600, "accessTokenMaxTTL": 1200})

    response = api.post(LOGIN, json={"clientId": client_id, "clientSecret": secret}, token="")

    body = response.json()
    assert response.status_code == 200
    assert body["tokenType"] == "Bearer"
    assert (body["expiresIn"], body["accessTokenMaxTTL"]) == (600, 1200)
    assert jwt.decode(body["accessToken"], options={"verify_signature": False})["identityId"] \
        == identity_id


def test_login_with_wrong_secret_is_401_invalid_credentials(api: Api, world: SandboxWorld
                                                            ) -> None:
    response = api.post(LOGIN, json={"clientId": world.credentials.infisical_client_id,
                                     "clientSecret": "not-the-secret"}, token="")

    assert response.status_code == 401
    body = response.json()
    assert (body["error"], body["message"], body["statusCode"]) == \
        ("UnauthorizedError", "Invalid credentials", 401)
    assert body["reqId"].startswith("req-")


def test_login_with_unknown_client_id_is_401(api: Api) -> None:
    response = api.post(LOGIN, json={"clientId": "nobody", "clientSecret": "x"}, token="")
    assert response.status_code == 401


def test_login_without_client_secret_is_422_zod_issue(api: Api) -> None:
    response = api.post(LOGIN, json={"clientId": "x"}, token="")

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "ValidationFailure"
    assert body["message"] == [{"code": "invalid_type", "expected": "string",
                                "received": "undefined", "path": ["clientSecret"],
                                "message": "Required"}]


def test_client_secret_is_returned_once_and_never_listed(api: Api, org: str) -> None:
    identity_id, _, secret = mint_identity(api, org, "once-bot")

    listed = api.get(f"{UA}/{identity_id}/client-secrets").json()["clientSecretData"]
    one = api.get(f"{UA}/{identity_id}/client-secrets/{listed[0]['id']}").json()

    assert len(listed) == 1
    assert listed[0]["clientSecretPrefix"] == secret[:4]
    for shown in (listed[0], one["clientSecretData"]):
        assert secret not in str(shown)
        assert "clientSecret" not in shown


def test_revoked_client_secret_no_longer_logs_in(api: Api, org: str) -> None:
    identity_id, client_id, secret = mint_identity(api, org, "revoked-bot")
    secret_id = api.get(f"{UA}/{identity_id}/client-secrets").json()["clientSecretData"][0]["id"]

    revoked = api.post(f"{UA}/{identity_id}/client-secrets/{secret_id}/revoke")
    login = api.post(LOGIN, json={"clientId": client_id, "clientSecret": secret}, token="")

    assert revoked.json()["clientSecretData"]["isClientSecretRevoked"] is True
    assert login.status_code == 401
    listed = api.get(f"{UA}/{identity_id}/client-secrets").json()["clientSecretData"]
    assert [s["isClientSecretRevoked"] for s in listed] == [True]


def test_client_secret_use_limit_is_enforced(api: Api, org: str) -> None:
    identity_id, client_id, _ = mint_identity(api, org, "limited-bot")
    limited = api.post(f"{UA}/{identity_id}/client-secrets", json={"numUsesLimit": 1})
    secret = limited.json()["clientSecret"]

    first = api.post(LOGIN, json={"clientId": client_id, "clientSecret": secret}, token="")
    second = api.post(LOGIN, json={"clientId": client_id, "clientSecret": secret}, token="")

    assert (first.status_code, second.status_code) == (200, 401)


def test_trusted_ips_are_returned_parsed(api: Api, org: str) -> None:
    identity_id, _, _ = mint_identity(api, org, "ip-bot")

    response = api.patch(f"{UA}/{identity_id}", json={
        "clientSecretTrustedIps": [{"ipAddress": "10.0.0.0/8"}, {"ipAddress": "192.168.1.7"}],
    })

    assert response.json()["identityUniversalAuth"]["clientSecretTrustedIps"] == [
        {"ipAddress": "10.0.0.0", "prefix": 8, "type": "ipv4"},
        {"ipAddress": "192.168.1.7", "type": "ipv4"},
    ]
    stored = api.get(f"{UA}/{identity_id}").json()["identityUniversalAuth"]
    assert stored["accessTokenTrustedIps"][0] == {"ipAddress": "0.0.0.0", "prefix": 0,
                                                  "type": "ipv4"}


def test_login_from_untrusted_ip_is_forbidden(api: Api, app: Starlette, org: str) -> None:
    identity_id, client_id, secret = mint_identity(api, org, "fenced-bot")
    api.patch(f"{UA}/{identity_id}", json={"clientSecretTrustedIps": [{"ipAddress": "10.0.0.0/8"}]})

    outside = Api(app, client_ip="127.0.0.1").post(
        LOGIN, json={"clientId": client_id, "clientSecret": secret})
    inside = Api(app, client_ip="10.1.2.3").post(
        LOGIN, json={"clientId": client_id, "clientSecret": secret})

    assert outside.status_code == 403
    assert outside.json()["error"] == "ForbiddenError"
    assert inside.status_code == 200


def test_access_token_trusted_ips_apply_to_every_request(api: Api, app: Starlette, org: str,
                                                         journal: str) -> None:
    identity_id, client_id, secret = mint_identity(api, org, "token-fenced-bot")
    api.patch(f"{UA}/{identity_id}", json={"accessTokenTrustedIps": [{"ipAddress": "10.0.0.1"}]})
    token = api.login(client_id, secret)

    response = Api(app, token=token).get(f"/api/v1/projects/{journal}")

    assert response.status_code == 403
    assert response.json()["error"] == "ForbiddenError"


def test_invalid_trusted_ip_is_400(api: Api, org: str) -> None:
    identity_id, _, _ = mint_identity(api, org, "bad-ip-bot")
    response = api.patch(f"{UA}/{identity_id}",
                         json={"accessTokenTrustedIps": [{"ipAddress": "not-an-ip"}]})
    assert response.status_code == 400
    assert response.json()["error"] == "BadRequest"


def test_ttl_above_max_ttl_is_422(api: Api, org: str) -> None:
    identity_id, _, _ = mint_identity(api, org, "ttl-check-bot")
    response = api.patch(f"{UA}/{identity_id}",
                         json={"accessTokenTTL": 100, "accessTokenMaxTTL": 50})
    assert response.status_code == 422
    assert response.json()["message"][0]["message"] == \
        "Access Token TTL cannot be greater than Access Token Max TTL."


def test_attach_twice_is_400_and_get_unattached_is_404(api: Api, org: str) -> None:
    identity_id, _, _ = mint_identity(api, org, "twice-bot")
    bare = api.post("/api/v1/identities", json={"name": "bare", "organizationId": org})
    bare_id = bare.json()["identity"]["id"]

    assert api.post(f"{UA}/{identity_id}", json={}).status_code == 400
    missing = api.get(f"{UA}/{bare_id}")
    assert missing.status_code == 404
    assert missing.json()["error"] == "NotFound"


def test_removing_universal_auth_revokes_its_tokens(api: Api, app: Starlette, org: str,
                                                    journal: str) -> None:
    identity_id, client_id, secret = mint_identity(api, org, "removed-bot")
    token = api.login(client_id, secret)

    removed = api.delete(f"{UA}/{identity_id}")
    after = Api(app, token=token).get("/api/v1/identities/details")

    assert removed.status_code == 200
    assert after.status_code == 401
    assert api.get(f"{UA}/{identity_id}").status_code == 404


def test_repeated_failures_lock_the_client_id_out(api: Api, app: Starlette, org: str) -> None:
    _, client_id, secret = mint_identity(api, org, "locked-bot")
    anonymous = Api(app)
    for _ in range(3):
        anonymous.post(LOGIN, json={"clientId": client_id, "clientSecret": "wrong"})

    locked = anonymous.post(LOGIN, json={"clientId": client_id, "clientSecret": secret})

    assert locked.status_code == 401
    assert "temporarily locked" in locked.json()["message"]


def test_expired_token_is_403_token_error(api: Api, app: Starlette, world: SandboxWorld,
                                          org: str) -> None:
    identity_id, client_id, secret = mint_identity(api, org, "short-bot")
    api.patch(f"{UA}/{identity_id}", json={"accessTokenTTL": 60, "accessTokenMaxTTL": 60})
    token = api.login(client_id, secret)
    start = world.clock()
    world.clock = lambda: start + 61

    response = Api(app, token=token).get("/api/v1/identities/details")

    assert response.status_code == 403
    assert response.json() | {"reqId": ""} == {
        "reqId": "", "statusCode": 403, "error": "TokenError",
        "message": "Your token has expired. Please re-authenticate."}


def test_forged_token_is_403_and_missing_token_is_401(app: Starlette) -> None:
    forged = jwt.encode({"identityId": "x", "authTokenType": "identityAccessToken"},
                        "a-guessed-signing-key-of-enough-length", algorithm="HS256")

    assert Api(app, token=forged).get("/api/v1/identities/details").json()["error"] \
        == "TokenError"
    assert Api(app).get("/api/v1/identities/details").status_code == 401


def test_operator_token_the_sandbox_prints_is_a_login_issued_access_token(
    app: Starlette, world: SandboxWorld
) -> None:
    """What ``INFISICAL_TOKEN`` holds: an access token from the operator's universal-auth
    login (a JWT for the operator identity, with the operator's TTL), not a static token."""
    token = operator_access_token(world)
    claims = jwt.decode(token, options={"verify_signature": False})
    response = Api(app, token=token).get("/api/v1/identities/details")

    assert response.status_code == 200
    assert response.json()["identityDetails"]["organization"]["slug"] == "acme"
    assert claims["authTokenType"] == "identityAccessToken"
    assert claims["identityId"] == operator_identity_id(world)
    assert claims["exp"] - claims["iat"] == 7200


def test_token_auth_mints_a_working_token(api: Api, app: Starlette, org: str) -> None:
    identity_id = api.post("/api/v1/identities",
                           json={"name": "tok", "organizationId": org}).json()["identity"]["id"]
    attached = api.post(f"/api/v1/auth/token-auth/identities/{identity_id}", json={})
    minted = api.post(f"/api/v1/auth/token-auth/identities/{identity_id}/tokens",
                      json={"name": "ci"})

    assert attached.json()["identityTokenAuth"]["identityId"] == identity_id
    token = minted.json()["accessToken"]
    assert Api(app, token=token).get("/api/v1/identities/details").status_code == 200
    listed = api.get(f"/api/v1/identities/{identity_id}").json()["identity"]["identity"]
    assert listed["authMethods"] == ["token-auth"]


def test_an_operator_seeded_only_in_part_is_not_seeded_yet_rather_than_a_failed_login() -> None:
    """Another process (``converge sandbox env``) may read the store while the sandbox is
    still seeding: an operator identity whose universal auth or client secret is not stored
    yet means "not seeded yet" (it waits), never a 401 that also counts towards lockout."""
    from converge_sandbox.infisical.routes_identities import create_identity_doc
    from converge_sandbox.infisical.seed import _ensure_org
    from converge_sandbox.infisical.state import InfisicalState

    world = SandboxWorld.in_memory()
    state = InfisicalState(world)
    state.signing_key()
    org = _ensure_org(state)
    doc = create_identity_doc(state, name="sandbox-operator", org_id=org["id"], role="admin")
    state.put("meta", "operator", {"identityId": str(doc["id"])})

    try:
        operator_access_token(world)
    except LookupError:
        pass
    else:  # pragma: no cover - the assertion below names the failure
        raise AssertionError("a half-seeded operator issued a token")
    assert state.get("lockout", world.credentials.infisical_client_id) is None
