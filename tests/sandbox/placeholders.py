"""Tiny stand-in emulators for testing the sandbox core without the real vendor apps.

Each app checks the bearer token (so tests can prove the request log never holds it),
echoes a POST body (so tests can prove bodies are not logged), and answers on a path
shaped like the vendor's real one.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from converge_sandbox import runner
from converge_sandbox.runner import VendorParts, no_exports
from converge_sandbox.world import SandboxWorld

TOKEN_ATTR = {
    "vercel": "vercel_token",
    "supabase": "supabase_access_token",
}
PATHS = {
    "infisical": "/api/v4/secrets",
    "vercel": "/v10/projects/{project}/env",
    "supabase": "/v1/projects/{project}/config/auth",
}


def token_for(vendor: str, world: SandboxWorld) -> str:
    """The bearer a placeholder accepts: the stored credential, or (Infisical, whose real
    emulator issues its token at print time) one the placeholder issues itself."""
    if vendor in TOKEN_ATTR:
        token: str = getattr(world.credentials, TOKEN_ATTR[vendor])
        return token
    doc = world.store.get("placeholder", "token", vendor)
    if doc is None:
        doc = {"token": f"{vendor}-placeholder-{secrets.token_hex(8)}"}
        world.store.put("placeholder", "token", vendor, doc)
    return str(doc["token"])


def make_app(vendor: str, world: SandboxWorld) -> Starlette:
    async def endpoint(request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {token_for(vendor, world)}":
            return JSONResponse({"message": "unauthorized"}, status_code=401)
        if request.method == "GET":
            docs = world.store.list(vendor, "item")
            return JSONResponse({"items": docs})
        body: dict[str, Any] = await request.json()
        world.store.put(vendor, "item", str(body.get("key", "k")), body)
        return JSONResponse({"created": body}, status_code=201)

    return Starlette(routes=[Route(PATHS[vendor], endpoint, methods=["GET", "POST"])])


def seed(vendor: str, world: SandboxWorld) -> None:
    world.store.put(vendor, "seeded", "marker", {"vendor": vendor})


def placeholder_parts() -> dict[str, VendorParts]:
    return {
        vendor: VendorParts(
            create_app=lambda world, v=vendor: make_app(v, world),  # type: ignore[misc]
            seed=lambda world, v=vendor: seed(v, world),  # type: ignore[misc]
            exports=(lambda world: {"INFISICAL_TOKEN": token_for("infisical", world)})
            if vendor == "infisical" else no_exports,
        )
        for vendor in PATHS
    }


def with_real_infisical() -> dict[str, VendorParts]:
    """Placeholders for Vercel and Supabase, the real Infisical emulator (it needs no
    PostgreSQL): for tests of the printed environment, whose ``INFISICAL_TOKEN`` another
    process issues through the real emulator's login."""
    parts = placeholder_parts()
    parts["infisical"] = runner.default_vendor_parts()["infisical"]
    return parts


def start_placeholder_sandbox(state_dir: Path, **options: Any) -> runner.RunningSandbox:
    """A sandbox of placeholder emulators without PostgreSQL (fast in-process tests)."""
    options.setdefault("start_database", None)
    options.setdefault("faults", "")
    options.setdefault("rate_limits", "")
    options.setdefault("vendors", placeholder_parts())
    return runner.start_sandbox(state_dir, **options)


def auth(sandbox: runner.RunningSandbox, vendor: str) -> dict[str, str]:
    names = {"infisical": "INFISICAL_TOKEN", "vercel": "VERCEL_TOKEN",
             "supabase": "SUPABASE_ACCESS_TOKEN"}
    return {"Authorization": f"Bearer {sandbox.env[names[vendor]]}"}
