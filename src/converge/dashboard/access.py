"""Who may read the dashboard, and what a request may do: pure ASGI middleware.

Rules (docs/dashboard.md):

* the dashboard binds loopback unless told otherwise; any other address (``0.0.0.0``, a
  LAN address, a host name) needs a token, and the server refuses to start without one;
* with a token, every request presents it: ``Authorization: Bearer <token>``, or the
  cookie a login sets: ``GET /?token=<token>`` once (a form on the 401 page does it
  without JavaScript) answers 303 to the same page without the token in its address and
  sets an HttpOnly, SameSite=Strict cookie holding an HMAC of the token (never the
  token itself). Comparisons are constant-time (``hmac.compare_digest``);
* read-only: GET and HEAD only, anything else is 405 whatever the path;
* every answer carries a strict Content-Security-Policy (no script at all, styles from
  the server only), ``nosniff``, no referrer, no framing and ``no-store``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import urllib.parse
from collections.abc import Callable

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from converge.errors import DashboardError

COOKIE = "converge_dashboard"
TOKEN_ENV = "CONVERGE_DASHBOARD_TOKEN"
MIN_TOKEN_LENGTH = 16
READ_METHODS = ("GET", "HEAD")
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}

# (status, title, text) -> an HTML page: the app's message template
MessagePage = Callable[[int, str, str, bool], Response]


def is_loopback(bind: str) -> bool:
    """``127.0.0.0/8``, ``::1`` and ``localhost``; anything else reaches a network."""
    if bind.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(bind.strip("[]")).is_loopback
    except ValueError:
        return False


def required_token(bind: str, token: str | None) -> str | None:
    """The token requests must present (None: none is needed: loopback without one).

    Refuses a non-loopback ``bind`` without a token, and a token too short or holding
    spaces or control characters."""
    token = token or None
    if token is None:
        if not is_loopback(bind):
            raise DashboardError(
                f"refusing to serve the dashboard on {bind} without a token: an address "
                "beyond loopback needs --token or CONVERGE_DASHBOARD_TOKEN",
                hint="generate one with: python3 -c 'import secrets; "
                "print(secrets.token_urlsafe(32))', or bind 127.0.0.1",
            )
        return None
    if len(token) < MIN_TOKEN_LENGTH or not token.isprintable() or any(
        c.isspace() for c in token
    ):
        raise DashboardError(
            f"the dashboard token must be at least {MIN_TOKEN_LENGTH} printable characters "
            "without spaces",
            hint="generate one with: python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'",
        )
    return token


def session_value(token: str) -> str:
    """What the login cookie holds: an HMAC of the token, so the cookie is not the token."""
    return hmac.new(token.encode(), b"converge-dashboard-session", hashlib.sha256).hexdigest()


def _same(offered: str, expected: str) -> bool:
    return hmac.compare_digest(offered.encode(), expected.encode())


class TokenGate:
    """Lets through only requests that present the token (see the module docstring)."""

    def __init__(self, app: ASGIApp, token: str, page: MessagePage) -> None:
        self.app = app
        self.token = token
        self.session = session_value(token)
        self.page = page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        offered = request.query_params.get("token")
        if offered is not None:
            if _same(offered, self.token):
                await self._login(request)(scope, receive, send)
            else:
                await self._refuse("That token is not the dashboard's token.")(
                    scope, receive, send
                )
            return
        if self._authorised(request):
            await self.app(scope, receive, send)
            return
        await self._refuse("This dashboard needs its token.")(scope, receive, send)

    def _authorised(self, request: Request) -> bool:
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and credentials and _same(credentials.strip(), self.token):
            return True
        cookie = request.cookies.get(COOKIE)
        return bool(cookie) and _same(cookie or "", self.session)

    def _login(self, request: Request) -> Response:
        """303 to the same address without ``token``, setting the session cookie."""
        kept = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
        query = urllib.parse.urlencode(kept)
        target = request.url.path + (f"?{query}" if query else "")
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            COOKIE,
            self.session,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    def _refuse(self, text: str) -> Response:
        response = self.page(401, "Token required", text, True)
        response.headers["www-authenticate"] = 'Bearer realm="converge dashboard"'
        return response


class ReadOnly:
    """GET and HEAD only: anything else is 405 (with ``Allow``), whatever the path."""

    def __init__(self, app: ASGIApp, page: MessagePage) -> None:
        self.app = app
        self.page = page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in READ_METHODS:
            response = self.page(
                405, "Read-only", "The dashboard only reads: it answers GET and HEAD.", False
            )
            response.headers["allow"] = ", ".join(READ_METHODS)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` to every answer (those a route set itself are kept)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
