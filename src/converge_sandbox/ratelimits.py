"""Fixed-window rate limiting for the sandbox servers, configured per vendor rule.

Which rules a request counts against, and how a vendor reports them, live in
``vendorprofiles``; this module only counts. ``CONVERGE_SANDBOX_RATE_LIMITS`` (or
``--rate-limits``) is a comma list:

- ``real`` (the default): the vendors' documented limits (``vendor-apis/*-api.md``, "Rate
  limits"), and the headers advertise exactly those, as the services do;
- ``off``: no limiting and no rate-limit headers;
- ``scale=N``: documented limits times N, for benchmarks and test suites that make more
  requests than a real team could; every response then carries the vendor's headers with
  the scaled figures *and* ``X-Sandbox-RateLimit-Scale: N`` (see ``middleware``), so a
  scaled sandbox never passes for the real service;
- ``window=60s``: the window length (shorten it in tests);
- ``<vendor>.<rule>=N``: one rule's limit, e.g. ``vercel.api-projects-environment-variable-get=5``
  (responses counted against it carry ``X-Sandbox-RateLimit-Documented``).

Counters are kept per account (``hit(..., account=)``): the vendor decides whom a request is
charged to. They are confined to the server's event loop (no locks on the hot path).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from converge.errors import SandboxError
from converge_sandbox.faults import parse_duration

DEFAULT_SCALE = 1.0  # the documented limits
_MAX_WINDOWS = 10_000  # expired windows are dropped past this many keys


@dataclass(frozen=True)
class LimitRule:
    """One limit a request counts against: ``key`` identifies the counter, ``name`` is the
    vendor's own name for it (shown in error bodies), ``limit`` the documented figure."""

    key: str
    name: str
    limit: int


@dataclass(frozen=True)
class WindowState:
    """A counter after counting one request."""

    rule: LimitRule
    limit: int
    remaining: int
    reset_at: float  # epoch seconds at which the window ends
    exceeded: bool

    def seconds_to_reset(self, now: float) -> int:
        return max(1, math.ceil(self.reset_at - now))


@dataclass(frozen=True)
class RateLimitSpec:
    enabled: bool = True
    scale: float = DEFAULT_SCALE
    window: float = 60.0
    overrides: dict[str, int] = field(default_factory=dict)  # "vendor.rule" (lower) -> limit

    def limit_for(self, vendor: str, rule: LimitRule) -> int:
        override = self.overrides.get(f"{vendor}.{rule.name}".lower())
        if override is not None:
            return override
        return max(1, int(rule.limit * self.scale))


def parse_rate_limits(text: str | None) -> RateLimitSpec:
    """Parse a rate-limit list; raises ``SandboxError`` naming the bad item."""
    if not text or not text.strip():
        return RateLimitSpec()
    enabled, scale, window = True, DEFAULT_SCALE, 60.0
    overrides: dict[str, int] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, raw = item.partition("=")
        name, raw = name.strip().lower(), raw.strip()
        try:
            if name == "real" and not sep:
                scale = 1.0
            elif name == "off" and not sep:
                enabled = False
            elif name == "scale" and raw:
                scale = float(raw)
                if scale <= 0:
                    raise ValueError("scale must be positive")
            elif name == "window" and raw:
                window = parse_duration(raw if raw[-1].isalpha() else raw + "s")
                if window <= 0:
                    raise ValueError("window must be positive")
            elif "." in name and raw:
                overrides[name] = int(raw)
            else:
                raise ValueError("unknown setting")
        except ValueError as exc:
            raise SandboxError(
                f"invalid rate limit setting {item!r}: {exc}",
                hint="e.g. real, off, scale=10, window=60s, vercel.api-projects=120",
            ) from None
    return RateLimitSpec(enabled=enabled, scale=scale, window=window, overrides=overrides)


class FixedWindowLimiter:
    """Counts requests per rule key in fixed windows aligned to the first hit."""

    def __init__(self, vendor: str, spec: RateLimitSpec):
        self.vendor = vendor
        self.spec = spec
        self._windows: dict[str, tuple[float, int]] = {}  # key -> (window end, count)

    def hit(
        self, rules: tuple[LimitRule, ...], now: float, *, account: str = ""
    ) -> WindowState | None:
        """Count one request against every rule, in ``account``'s counters; return the
        state to report: the first exceeded rule, else the one with the fewest requests
        left (None without rules)."""
        if not self.spec.enabled or not rules:
            return None
        if len(self._windows) > _MAX_WINDOWS:
            self._windows = {k: v for k, v in self._windows.items() if v[0] > now}
        reported: WindowState | None = None
        for rule in rules:
            key = f"{account}\n{rule.key}"
            end, count = self._windows.get(key, (0.0, 0))
            if now >= end:
                end, count = now + self.spec.window, 0
            count += 1
            self._windows[key] = (end, count)
            limit = self.spec.limit_for(self.vendor, rule)
            state = WindowState(rule, limit, max(0, limit - count), end, count > limit)
            if reported is None or (state.exceeded and not reported.exceeded) or (
                state.exceeded == reported.exceeded and state.remaining < reported.remaining
            ):
                reported = state
        return reported

    def reset(self) -> None:
        self._windows.clear()
