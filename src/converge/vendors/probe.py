"""One HTTP GET for the rollout gate's probe (project.yaml ``rollout.gate.probe``).

Kept in the vendor layer because only vendor-layer modules talk HTTP (httpx): the gate
(``ops.rollout_gates``) asks for a status and gets a status or the reason there was none.
Redirects are followed (a probe URL behind a redirect reports where it lands); the
environment's proxy settings apply, as for every vendor request.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from converge.vendors.http import Transport

TIMEOUT_S = 10.0


@dataclass(frozen=True)
class ProbeAnswer:
    """``status`` the HTTP status, or None with ``failure`` naming what went wrong (the
    exception's type, never a body)."""

    status: int | None
    failure: str = ""


def probe_url(
    url: str, *, timeout: float = TIMEOUT_S, transport: Transport | None = None
) -> ProbeAnswer:
    """GET ``url`` once; any status is an answer (a 500 is not an error here)."""
    try:
        with httpx.Client(timeout=timeout, follow_redirects=True, transport=transport) as client:
            response = client.get(url)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return ProbeAnswer(None, type(exc).__name__)
    return ProbeAnswer(response.status_code)
