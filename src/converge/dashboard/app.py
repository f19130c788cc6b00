"""The dashboard's starlette application: server-rendered pages, no JavaScript.

Routes::

    GET /                  every project: status, last run, drift (fields and age),
                           rollout waves and gates, pending revocations, audit chain
    GET /projects/{name}   one project: the same, its runs and its last plan
    GET /dashboard.css     the one stylesheet (the CSP allows nothing else)
    GET /metrics, /healthz only when served by ``converge watch`` (``extra_routes``)

Pages refresh themselves with ``<meta http-equiv="refresh">`` every ``refresh`` seconds
(0: never); ``?refresh=off`` pauses it (a link on every page; links keep the choice).
A page whose data cannot be read (the journal is down) is a 503 with the one-sentence
reason; an unknown project a 404. Jinja2 autoescapes everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from typing import Any, Protocol

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp

from converge import __version__
from converge.dashboard.access import ReadOnly, SecurityHeaders, TokenGate
from converge.errors import ConvergeError
from converge.ops.overview import Overview, ProjectPage

PAUSED = "off"


class PageSource(Protocol):
    """Where the pages' data comes from (``converge.ops.overview.OverviewSource``)."""

    def overview(self) -> Overview: ...

    def project(self, name: str) -> ProjectPage | None: ...


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("converge.dashboard", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def create_app(
    source: PageSource,
    *,
    token: str | None = None,
    refresh: int = 30,
    extra_routes: Sequence[BaseRoute] = (),
) -> ASGIApp:
    """The dashboard as an ASGI app. ``token``: what requests must present (None: no
    check, for loopback); ``refresh``: seconds between automatic reloads (0: none)."""
    templates = Jinja2Templates(env=_environment())
    stylesheet = (
        resources.files("converge.dashboard").joinpath("static/dashboard.css").read_bytes()
    )

    def context(request: Request, **values: Any) -> dict[str, Any]:
        paused = request.query_params.get("refresh") == PAUSED
        return {
            "refresh": 0 if paused else refresh,
            "refresh_configured": refresh,
            "paused": paused,
            "keep": f"?refresh={PAUSED}" if paused else "",
            "version": __version__,
            **values,
        }

    def message(status: int, title: str, text: str, login: bool = False) -> Response:
        template = templates.get_template("message.html")
        body = template.render(
            title=title, text=text, login=login, status=status, refresh=0,
            refresh_configured=0, paused=False, keep="", version=__version__,
        )
        return Response(body, status_code=status, media_type="text/html; charset=utf-8")

    def overview(request: Request) -> Response:
        try:
            page = source.overview()
        except ConvergeError as exc:
            return message(503, "Journal unavailable", exc.message)
        return templates.TemplateResponse(
            request, "overview.html", context(request, page=page, title="Projects")
        )

    def project(request: Request) -> Response:
        name = str(request.path_params["name"])
        try:
            page = source.project(name)
        except ConvergeError as exc:
            return message(503, "Journal unavailable", exc.message)
        if page is None:
            return message(404, "Unknown project",
                           "Neither the workspace nor the journal knows this project.")
        return templates.TemplateResponse(
            request, "project.html", context(request, page=page, title=name)
        )

    def css(request: Request) -> Response:
        return Response(stylesheet, media_type="text/css; charset=utf-8",
                        headers={"cache-control": "max-age=300"})

    def not_found(request: Request, exc: Exception) -> Response:
        return message(404, "Not found", "There is no such page on this dashboard.")

    routes: list[BaseRoute] = [
        Route("/", overview, methods=["GET"]),
        Route("/projects/{name}", project, methods=["GET"]),
        Route("/dashboard.css", css, methods=["GET"]),
        *extra_routes,
    ]
    app: ASGIApp = Starlette(routes=routes, exception_handlers={404: not_found})
    if token is not None:
        app = TokenGate(app, token, message)
    return SecurityHeaders(ReadOnly(app, message))
