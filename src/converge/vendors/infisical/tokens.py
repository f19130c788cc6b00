"""The Infisical access token a client sends, kept valid for a whole run.

Infisical access tokens expire (the identity's ``accessTokenTTL``, two hours by default
on a typical setup) and can be renewed until their max TTL (``POST
/api/v1/auth/token/renew``, which takes the token in the body). A run can outlive one
token (``converge watch``), so:

- with universal-auth credentials (client id + secret) the keeper logs in, renews the
  token once half its life has passed, and logs in again when renewal is refused (max TTL
  reached) or when the service refuses the token mid-run (revoked, or expired by the
  service's clock rather than ours);
- with a given token (``INFISICAL_TOKEN``) it renews the token once half its life has
  passed, for as long as the service allows, and remembers the renewed token for the rest
  of the process (a watch builds a new client each cycle from the same environment, so a
  cycle in the second half of a token's life renews it for the next ones); an expired
  token cannot be renewed, and the caller says so.

Tokens live only in memory; nothing here logs or raises with a token in its text.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from converge.errors import VendorAuthError, VendorError

LOGIN_PATH = "/api/v1/auth/universal-auth/login"
RENEW_PATH = "/api/v1/auth/token/renew"

# The latest renewal of each given token, for this process: sha256(original) -> token.
_RENEWED: dict[str, str] = {}
_RENEWED_LOCK = threading.Lock()

Post = Callable[[str, dict[str, Any]], httpx.Response]


def token_times(token: str) -> tuple[float | None, float | None]:
    """The ``iat`` and ``exp`` claims (epoch seconds) of a JWT, read without verifying it;
    None for a token that is not a JWT or lacks them (a legacy service token, a periodic
    token has no expiry)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None, None
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, json.JSONDecodeError):
        return None, None
    if not isinstance(claims, dict):
        return None, None
    iat, exp = claims.get("iat"), claims.get("exp")
    return (float(iat) if isinstance(iat, int | float) else None,
            float(exp) if isinstance(exp, int | float) else None)


def _fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class _Held:
    token: str
    refresh_at: float | None  # monotonic time to renew at; None: never
    expires_at: float | None  # wall-clock expiry; None: unknown or never


class TokenKeeper:
    """Holds the bearer token of one client and keeps it valid.

    ``post(path, body)`` sends an unauthenticated request (login and renew carry their
    credentials in the body, and a stale bearer would be refused before they run) and
    returns the response, raising ``VendorAuthError`` on a refused credential."""

    def __init__(
        self,
        post: Post,
        *,
        token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        organization_slug: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ):
        self._post = post
        self._client_id = client_id
        self._client_secret = client_secret
        self._organization_slug = organization_slug
        self._monotonic = monotonic
        self._wall = wall
        self._lock = threading.Lock()
        self._given = _fingerprint(token) if token else None
        self._held: _Held | None = None
        self.logins = 0
        self.renewals = 0
        if token:
            with _RENEWED_LOCK:
                latest = _RENEWED.get(self._given or "", token)
            self._held = self._hold(latest)

    @property
    def can_log_in(self) -> bool:
        return bool(self._client_id and self._client_secret)

    def expired(self) -> bool:
        """Whether the held token is past its own expiry (by this machine's clock)."""
        held = self._held
        return bool(held and held.expires_at is not None and self._wall() >= held.expires_at)

    def current(self) -> str:
        """The token to send now: logging in first, or renewing one about to expire."""
        with self._lock:
            held = self._held
            if held is None:
                return self._login()
            if held.refresh_at is not None and self._monotonic() >= held.refresh_at:
                return self._refresh(held)
            return held.token

    def refused(self, sent: str) -> bool:
        """The service refused ``sent``: get a new token if we can (log in again with
        client credentials); True when a retry with ``current()`` makes sense."""
        with self._lock:
            if self._held is not None and self._held.token != sent:
                return True  # another thread already replaced it
            if not self.can_log_in:
                return False
            self._login()
            return True

    def force_refresh(self) -> None:
        """Treat the held token as due for renewal (tests, and callers that know better)."""
        with self._lock:
            if self._held is not None:
                self._held.refresh_at = self._monotonic()

    # -- internals (called with the lock held) -----------------------------------------
    def _hold(self, token: str, expires_in: float | None = None) -> _Held:
        """Keep ``token``, to be renewed once half its lifetime has passed (the lifetime is
        ``expires_in`` from a login or renewal, else the JWT's ``exp - iat``)."""
        wall_now, mono_now = self._wall(), self._monotonic()
        lifetime = expires_in
        if expires_in is None:
            iat, exp = token_times(token)
            if exp is None:
                return _Held(token, None, None)
            expires_in = exp - wall_now
            lifetime = exp - iat if iat is not None else expires_in
        assert lifetime is not None
        return _Held(token, mono_now + expires_in - max(lifetime, 0.0) / 2,
                     wall_now + expires_in)

    def _login(self) -> str:
        if not self.can_log_in:
            assert self._held is not None
            return self._held.token
        body: dict[str, Any] = {"clientId": self._client_id, "clientSecret": self._client_secret}
        if self._organization_slug:
            body["organizationSlug"] = self._organization_slug
        data = self._post(LOGIN_PATH, body).json()
        self.logins += 1
        expires_in = float(data.get("expiresIn") or 0) or None
        self._held = self._hold(str(data["accessToken"]), expires_in)
        return self._held.token

    def _refresh(self, held: _Held) -> str:
        """Renew the held token; when the service will not (max TTL reached, revoked),
        log in again if we can, else keep the token until it expires."""
        try:
            data = self._post(RENEW_PATH, {"accessToken": held.token}).json()
        except (VendorAuthError, VendorError):
            if self.can_log_in:
                return self._login()
            held.refresh_at = None
            return held.token
        self.renewals += 1
        expires_in = float(data.get("expiresIn") or 0) or None
        self._held = self._hold(str(data["accessToken"]), expires_in)
        if self._given is not None:
            with _RENEWED_LOCK:
                _RENEWED[self._given] = self._held.token
        return self._held.token
