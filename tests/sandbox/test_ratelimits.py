"""Rate limits: each vendor's headers, 429 body and Retry-After; configuration."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from converge.errors import SandboxError
from converge_sandbox.ratelimits import (
    FixedWindowLimiter,
    LimitRule,
    RateLimitSpec,
    parse_rate_limits,
)
from tests.sandbox.placeholders import auth, start_placeholder_sandbox

VERCEL_ENV = "/v10/projects/prj_1/env"
SUPABASE_AUTH = "/v1/projects/{ref}/config/auth"


def test_parse_rate_limits_reads_profiles_window_and_overrides() -> None:
    assert parse_rate_limits("real") == RateLimitSpec(scale=1.0)
    assert not parse_rate_limits("off").enabled
    spec = parse_rate_limits("scale=2,window=500ms,vercel.api-projects=7")
    assert (spec.scale, spec.window, spec.overrides) == (2.0, 0.5, {"vercel.api-projects": 7})


def test_parse_rate_limits_rejects_unknown_settings() -> None:
    with pytest.raises(SandboxError) as caught:
        parse_rate_limits("fast")
    assert "'fast'" in caught.value.message


def test_vercel_answers_429_with_its_body_and_headers(tmp_path: Path) -> None:
    limits = "vercel.api-projects-environment-variable-get=2"
    with start_placeholder_sandbox(tmp_path, rate_limits=limits) as sandbox, httpx.Client(
        base_url=sandbox.url("vercel"), headers=auth(sandbox, "vercel")
    ) as client:
        ok = [client.get(VERCEL_ENV) for _ in range(2)]
        limited = client.get(VERCEL_ENV)
    assert [r.status_code for r in ok] == [200, 200]
    assert [r.headers["x-ratelimit-remaining"] for r in ok] == ["1", "0"]
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.headers["x-ratelimit-limit"] == "2"
    assert int(limited.headers["x-ratelimit-reset"]) > time.time()  # epoch seconds
    error = limited.json()["error"]
    assert error["code"] == "rate_limited"
    assert error["name"] == "api-projects-environment-variable-get"
    assert error["limit"]["total"] == 2 and error["limit"]["remaining"] == 0
    assert error["message"].startswith("Too many requests - try again in ")


def test_infisical_answers_429_with_its_error_body(tmp_path: Path) -> None:
    with start_placeholder_sandbox(tmp_path, rate_limits="infisical.secretsLimit=1") as sandbox:
        url, headers = sandbox.url("infisical") + "/api/v4/secrets", auth(sandbox, "infisical")
        first, second = httpx.get(url, headers=headers), httpx.get(url, headers=headers)
    assert first.status_code == 200
    assert second.status_code == 429
    body = second.json()
    assert (body["statusCode"], body["error"]) == (429, "RateLimitExceeded")
    assert body["message"] == (
        f"Rate limit exceeded. Please try again in {second.headers['retry-after']} seconds"
    )
    assert int(second.headers["x-ratelimit-reset"]) <= 60  # seconds to reset


def test_supabase_limits_each_project_and_endpoint_separately(tmp_path: Path) -> None:
    with start_placeholder_sandbox(tmp_path, rate_limits="supabase.endpoint=1") as sandbox:
        base, headers = sandbox.url("supabase"), auth(sandbox, "supabase")
        first = httpx.get(base + SUPABASE_AUTH.format(ref="aaaaaaaaaaaaaaaaaaaa"), headers=headers)
        second = httpx.get(base + SUPABASE_AUTH.format(ref="aaaaaaaaaaaaaaaaaaaa"), headers=headers)
        other = httpx.get(base + SUPABASE_AUTH.format(ref="bbbbbbbbbbbbbbbbbbbb"), headers=headers)
    assert (first.status_code, second.status_code, other.status_code) == (200, 429, 200)
    assert first.headers["x-ratelimit-limit"] == "1"
    assert second.json() == {"statusCode": 429, "message": "ThrottlerException: Too Many Requests"}
    assert "retry-after" in second.headers


def test_default_headers_advertise_each_vendors_documented_limits(tmp_path: Path) -> None:
    paths = {"infisical": "/api/v4/secrets", "vercel": VERCEL_ENV,
             "supabase": SUPABASE_AUTH.format(ref="abcdefghijklmnopqrst")}
    with start_placeholder_sandbox(tmp_path, rate_limits="") as sandbox:
        answers = {vendor: httpx.get(sandbox.url(vendor) + path, headers=auth(sandbox, vendor))
                   for vendor, path in paths.items()}
    # vercel-api.md §6 (env get 500/min), infisical-api.md (secrets 120/min),
    # supabase-api.md (120/min per endpoint).
    limits = {vendor: r.headers["x-ratelimit-limit"] for vendor, r in answers.items()}
    assert limits == {"infisical": "120", "vercel": "500", "supabase": "120"}
    assert all(r.status_code == 200 for r in answers.values())
    assert not [h for r in answers.values() for h in r.headers if h.startswith("x-sandbox-")]


def test_scaled_limits_say_so_in_the_headers(tmp_path: Path) -> None:
    with start_placeholder_sandbox(tmp_path, rate_limits="scale=1000") as sandbox:
        response = httpx.get(sandbox.url("vercel") + VERCEL_ENV, headers=auth(sandbox, "vercel"))
    assert response.headers["x-ratelimit-limit"] == "500000"
    assert response.headers["x-sandbox-ratelimit-scale"] == "1000"
    assert response.headers["x-sandbox-ratelimit-documented"] == "500"


def test_an_overridden_limit_names_the_documented_one(tmp_path: Path) -> None:
    limits = "vercel.api-projects-environment-variable-get=7"
    with start_placeholder_sandbox(tmp_path, rate_limits=limits) as sandbox:
        response = httpx.get(sandbox.url("vercel") + VERCEL_ENV, headers=auth(sandbox, "vercel"))
    assert response.headers["x-ratelimit-limit"] == "7"
    assert response.headers["x-sandbox-ratelimit-documented"] == "500"
    assert "x-sandbox-ratelimit-scale" not in response.headers


def test_off_sends_no_rate_limit_headers(tmp_path: Path) -> None:
    with start_placeholder_sandbox(tmp_path, rate_limits="off") as sandbox:
        response = httpx.get(sandbox.url("vercel") + VERCEL_ENV, headers=auth(sandbox, "vercel"))
    assert response.status_code == 200
    assert "x-ratelimit-limit" not in response.headers


def test_the_window_resets_the_count(tmp_path: Path) -> None:
    limits = "window=200ms,vercel.api-projects-environment-variable-get=1"
    with start_placeholder_sandbox(tmp_path, rate_limits=limits) as sandbox, httpx.Client(
        base_url=sandbox.url("vercel"), headers=auth(sandbox, "vercel")
    ) as client:
        first, second = client.get(VERCEL_ENV), client.get(VERCEL_ENV)
        time.sleep(0.25)
        third = client.get(VERCEL_ENV)
    assert [r.status_code for r in (first, second, third)] == [200, 429, 200]


def test_limiter_forgets_expired_windows_when_keys_pile_up() -> None:
    limiter = FixedWindowLimiter("supabase", RateLimitSpec(window=1.0))
    for ref in range(10_001):
        limiter.hit((LimitRule(f"ref{ref}", "endpoint", 120),), now=0.0)
    state = limiter.hit((LimitRule("fresh", "endpoint", 120),), now=5.0)
    assert state is not None and state.remaining == 119
    assert len(limiter._windows) == 1
