"""The one HTTP boundary of converge: pooled clients, retries, budgets, request counts.

Each vendor package builds a ``VendorHttp`` (one pooled ``httpx.Client`` per vendor) and
calls ``request()``. Here, and only here:

- transient failures (429, 502/503/504, dropped or timed-out connections) are retried with
  exponential backoff and jitter (stamina), honouring ``Retry-After`` and the vendors'
  ``X-RateLimit-Reset`` headers;
- a write whose response was lost is *re-observed* through a callback before it is sent
  again, so a retry never duplicates an object;
- within one run, a repeated read is answered from memory until the next write (the
  Vercel reconciler and the Supabase publisher both list one project's variables; the
  Infisical reconciler and the reference resolver both list identities), so a no-op plan
  makes one list request per kind of object;
- every request is counted by vendor, method and status (benchmarks and metrics read
  ``RequestCounter``), and paced by a token bucket sized from the vendor's documented limit;
- errors become ConvergeErrors naming the vendor and the request, never the body sent
  (bodies may hold secrets) and never the token;
- transport errors are sorted by type (``classify_transport_error``): a dropped or
  timed-out connection is retried; an untrusted TLS certificate, a failed TLS handshake or
  a request httpx cannot send is reported at once, since no retry can fix it;
- a vendor URL and a token are checked before the first request (``check_base_url``,
  ``check_credential``): plain ``http://`` to a host that is not loopback would send the
  bearer token in clear, and a control character in a token breaks the request line;
- each retry can be reported as one line naming vendor, method, path (never the query or
  a header), the attempt and the wait (``report_retries``; the CLI's ``--verbose``).
  stamina's own instrumentation (a bare ``stamina.retry_scheduled`` log line per retry,
  naming no request) is replaced by that hook, so nothing is printed otherwise.
- request paths are built with ``api_path``, which percent-encodes every value put into
  a path segment, and list fields the vendor splits on commas with ``comma_list``: a value
  from the workspace or from a vendor answer cannot change where a request goes
  (``a/../../v2/teams``) or how a list is read (``public,auth``).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import email.utils
import ipaddress
import os
import ssl
import threading
import time
import unicodedata
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeAlias
from urllib.parse import quote

import httpx
import stamina
import stamina.instrumentation

from converge.errors import RateLimitedError, UnsafeRequestError, VendorAuthError, VendorError

Transport: TypeAlias = httpx.BaseTransport
"""What a test injects to drive a vendor in-process (``tests/support/asgi.py``). The
engine, ops and CLI name it through this alias, so only the vendor layer imports httpx."""

TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
AMBIGUOUS_STATUSES = frozenset({500, 502, 504})  # a write may or may not have happened
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
MAX_RETRY_AFTER = 60.0


def path_segment(value: str) -> str:
    """``value`` as one URL path segment: every reserved character percent-encoded ('/'
    too), and ``.``, ``..`` or an empty value refused, since clients and servers read those
    as directory steps whatever their encoding."""
    if value in ("", ".", ".."):
        raise UnsafeRequestError(
            f"refusing to send a request whose path segment would be {value!r}",
            hint="check the names and ids in the workspace's project targets",
        )
    return quote(value, safe="")


def api_path(template: str, *values: str) -> str:
    """``template`` with each ``{}`` replaced by one encoded path segment:
    ``api_path("/v9/projects/{}/env/{}", project, env_id)``."""
    return template.format(*(path_segment(value) for value in values))


def comma_list(values: Iterable[str], *, field: str) -> str:
    """The entries joined by commas, for a field the vendor splits on commas; an entry
    holding a comma is refused (it would be read as two), and so is one with whitespace
    at its ends (the vendor trims it, so it would not round-trip)."""
    entries = list(values)
    for entry in entries:
        if "," in entry or entry != entry.strip() or not entry:
            raise UnsafeRequestError(
                f"refusing to send {field}: an entry is empty, holds a comma or starts or "
                "ends with a space, so the vendor would not read it as one entry",
                hint=f"fix the entries of {field} in the workspace",
            )
    return ",".join(entries)


class TransientHttpError(Exception):
    """A failure worth retrying; ``wait`` is the server's requested delay, if it gave one;
    ``reason`` says what failed in a few words (the status, or the transport error)."""

    def __init__(
        self, description: str, *, wait: float | None = None, status: int = 0, reason: str = ""
    ):
        super().__init__(description)
        self.wait = wait
        self.status = status
        self.reason = reason or (str(status) if status else "a transport error")


# -- the transport: URLs, tokens, errors --------------------------------------------------


def is_loopback_host(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1: traffic that never leaves this machine."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(url: str, *, variable: str, vendor: str) -> None:
    """Refuse a vendor URL that is not http(s), or that is plain http to a host that is not
    loopback (every request carries a bearer token). The message names the variable and
    the host only: a URL may hold a user and password."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        found = f"scheme {parts.scheme!r}" if parts.scheme else "no scheme"
        raise VendorAuthError(
            f"{variable} is not an https:// URL ({found if parts.hostname else 'no host'})",
            vendor=vendor,
            hint=f"set {variable} to the vendor's https:// API URL",
        )
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise VendorAuthError(
            f"{variable} uses plain http to a non-loopback host ({parts.hostname}); use https",
            vendor=vendor,
            hint="plain http would send the token in clear; only loopback may use it",
        )


_LINE_BREAKS = frozenset("\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def _unprintable(char: str) -> str | None:
    """What ``char`` is, in words, if it has no place in a token (else None)."""
    if char in "\r\n":
        return "a newline"
    if char == "\t":
        return "a tab"
    if char in _LINE_BREAKS:
        return "a line separator"
    category = unicodedata.category(char)
    if category == "Cc":
        return "a control character"
    if category in ("Cf", "Co", "Cs", "Cn"):
        return "an invisible formatting character"
    if category.startswith("Z"):
        return "a space"
    return None


def check_credential(variable: str, value: str, *, vendor: str) -> None:
    """Refuse a token holding a newline, a control or an invisible character, before any
    request (httpx would fail to send it, and the failure would look like a network error);
    the message names the variable and the kind of character, never the value."""
    for char in value:
        what = _unprintable(char)
        if what is not None:
            raise VendorAuthError(
                f"{variable} contains {what}; a token is one line of printable text",
                vendor=vendor,
                hint=f"set {variable} again, copied on one line",
            )


def _tls_cause(exc: BaseException) -> ssl.SSLError | None:
    """The ``ssl`` error under an httpx error (httpx → httpcore → ssl), if there is one."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _tls_reason(error: ssl.SSLError) -> str:
    """``self-signed certificate in certificate chain``: OpenSSL's words, without codes."""
    for reason in (getattr(error, "verify_message", None), getattr(error, "reason", None)):
        if reason:
            return str(reason)
    text = str(error.args[-1]) if error.args else ""
    return text or type(error).__name__


def _host_of(exc: httpx.HTTPError) -> str:
    try:
        return exc.request.url.host or "the vendor"
    except RuntimeError:  # an error raised without its request
        return "the vendor"


def classify_transport_error(
    exc: httpx.HTTPError, *, vendor: str, what: str
) -> TransientHttpError | VendorError:
    """Transient (retried) or permanent (reported at once), by type.

    Transient: timeouts, refused/reset/dropped connections, a server that closed the
    connection mid-answer, a proxy that did not answer, a garbled body. Permanent: a TLS
    certificate that cannot be verified, any other TLS failure (no retry changes a
    certificate or a protocol mismatch), and a request httpx cannot send
    (``LocalProtocolError``, ``UnsupportedProtocol``).
    """
    host = _host_of(exc)
    tls = _tls_cause(exc)
    if isinstance(tls, ssl.SSLCertVerificationError):
        reason = _tls_reason(tls)
        return VendorError(
            f"the TLS certificate of {host} ({vendor}) could not be verified: {reason}",
            vendor=vendor,
            request=what,
            hint="set SSL_CERT_FILE to a CA bundle that holds the proxy's certificate if a "
            "proxy re-signs traffic",
        )
    if tls is not None:
        return VendorError(
            f"the TLS handshake with {host} ({vendor}) failed: {_tls_reason(tls)}",
            vendor=vendor,
            request=what,
            hint="check that the vendor URL points at an https server",
        )
    if isinstance(exc, httpx.LocalProtocolError | httpx.UnsupportedProtocol):
        return VendorError(
            f"converge could not send {what} to {vendor} ({type(exc).__name__})",
            vendor=vendor,
            request=what,
            hint="check the vendor URL and the credential variables",
        )
    name = type(exc).__name__
    return TransientHttpError(f"{what}: {name}", reason=name)


# -- retry reporting -------------------------------------------------------------------

RetryReporter = Callable[[str], None]


@dataclass(frozen=True)
class _InFlight:
    """The request a retry belongs to (set around stamina's loop, read by its hook)."""

    vendor: str
    method: str
    path: str
    attempts: int


_reporter: RetryReporter | None = None
_in_flight: contextvars.ContextVar[_InFlight | None] = contextvars.ContextVar(
    "converge_http_in_flight", default=None
)


def report_retries(reporter: RetryReporter | None) -> None:
    """Send one line per scheduled retry to ``reporter`` (None, the default: silent)."""
    global _reporter
    _reporter = reporter


def retry_line(request: _InFlight, *, next_attempt: int, reason: str, wait: float) -> str:
    """``retry vercel GET /v9/projects/x/env attempt 2/6 after 503 (waiting 0.8 s)``."""
    return (
        f"retry {request.vendor} {request.method} {request.path} "
        f"attempt {next_attempt}/{request.attempts} after {reason} (waiting {wait:.1f} s)"
    )


def _on_retry(details: stamina.instrumentation.RetryDetails) -> None:
    """stamina's hook: report a retry of a converge request to the reporter, if any."""
    request = _in_flight.get()
    if request is None or _reporter is None:
        return
    cause = details.caused_by
    reason = cause.reason if isinstance(cause, TransientHttpError) else type(cause).__name__
    _reporter(
        retry_line(request, next_attempt=details.retry_num + 1, reason=reason,
                   wait=details.wait_for)
    )


@contextmanager
def _retrying(request: _InFlight) -> Iterator[None]:
    token = _in_flight.set(request)
    try:
        yield
    finally:
        _in_flight.reset(token)


# stamina's default hooks log a bare ``stamina.retry_scheduled`` per retry (to stderr when
# nothing configures logging) and count retries for Prometheus; converge reports its own.
stamina.instrumentation.set_on_retry_hooks([_on_retry])


@dataclass
class RequestCounter:
    """Thread-safe tallies of every vendor request (and retry) made by this process."""

    requests: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    retries: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, vendor: str, method: str, status: int) -> None:
        with self._lock:
            self.requests[(vendor, method, status)] += 1

    def record_retry(self, vendor: str) -> None:
        with self._lock:
            self.retries[vendor] += 1

    def total(self, vendor: str | None = None, *, writes_only: bool = False) -> int:
        with self._lock:
            return sum(
                n
                for (v, method, _), n in self.requests.items()
                if (vendor is None or v == vendor)
                and (not writes_only or method not in ("GET", "HEAD"))
            )


class RateBudget:
    """Token bucket: ``limit`` requests per ``window`` seconds, bursting up to ``limit``.

    Sized from the vendor's documented limit so a large run slows itself down instead of
    collecting 429s. ``limit=0`` disables pacing.
    """

    def __init__(
        self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ):
        self.limit = limit
        self.rate = limit / window if limit else 0.0
        self.tokens = float(limit)
        self.clock = clock
        self.updated = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping if the bucket is empty; return the seconds slept."""
        if not self.limit:
            return 0.0
        with self._lock:
            now = self.clock()
            self.tokens = min(self.limit, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            self.tokens -= 1
            wait = -self.tokens / self.rate if self.tokens < 0 else 0.0
        if wait > 0:
            time.sleep(wait)
        return wait


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    timeout: float = 120.0
    wait_initial: float = 0.2
    wait_max: float = 20.0
    wait_jitter: float = 0.5


def retry_policy_from_env() -> RetryPolicy:
    """``CONVERGE_RETRY_FAST=1`` shrinks waits for tests against a faulty sandbox."""
    if os.environ.get("CONVERGE_RETRY_FAST"):
        return RetryPolicy(
            attempts=8, timeout=30.0, wait_initial=0.01, wait_max=0.05, wait_jitter=0.01
        )
    return RetryPolicy()


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or HTTP date) or ``X-RateLimit-Reset``.

    ``X-RateLimit-Reset`` is an epoch time at Vercel and a number of seconds at Supabase;
    a value larger than a day is taken as an epoch.
    """
    current = time.time() if now is None else now
    value = headers.get("retry-after")
    if value:
        try:
            return min(max(float(value), 0.0), MAX_RETRY_AFTER)
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value)
            if parsed is not None:
                return min(max(parsed.timestamp() - current, 0.0), MAX_RETRY_AFTER)
    reset = headers.get("x-ratelimit-reset")
    if reset:
        try:
            number = float(reset)
        except ValueError:
            return None
        seconds = number - current if number > 86400 else number
        return min(max(seconds, 0.0), MAX_RETRY_AFTER)
    return None


ErrorMessage = Callable[[httpx.Response], str]
AuthFailure = Callable[[httpx.Response], bool]


def is_unauthorized(response: httpx.Response) -> bool:
    """The default rule for a refused credential: 401 (some vendors also use 403)."""
    return response.status_code == 401


def json_object(response: httpx.Response) -> Mapping[str, Any]:
    """The body as a JSON object, or empty: error bodies are read for a message only, and
    an odd one (not JSON, a list) must not hide the status."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


@dataclass
class VendorHttp:
    """A pooled client for one vendor. ``transport`` lets tests drive an emulator in-process."""

    vendor: str
    base_url: str
    headers: dict[str, str]
    credential_variable: str
    counter: RequestCounter
    budget: RateBudget
    error_message: ErrorMessage = field(default=lambda r: "")
    auth_failure: AuthFailure = field(default=is_unauthorized)
    transport: Transport | None = None
    timeout: float = 30.0
    policy: RetryPolicy = field(default_factory=retry_policy_from_env)
    cache_reads: bool = True
    url_variable: str = ""  # the variable the base URL came from (default <VENDOR>_API_URL)
    _client: httpx.Client | None = field(default=None, init=False, repr=False)
    _reads: dict[tuple[str, str], httpx.Response] = field(
        default_factory=dict, init=False, repr=False
    )
    _reads_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        """Check the URL (unless a test transport is injected: nothing leaves the process)
        and every credential header before the first request."""
        if self.transport is None:
            check_base_url(self.base_url, variable=self.url_variable or
                           f"{self.vendor.upper()}_API_URL", vendor=self.vendor)
        for value in self.headers.values():
            check_credential(self.credential_variable, value.removeprefix("Bearer "),
                             vendor=self.vendor)

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                base_url=self.base_url,
                headers={"User-Agent": "converge", "Accept": "application/json", **self.headers},
                timeout=httpx.Timeout(self.timeout, connect=10.0),
                limits=httpx.Limits(max_connections=16, max_keepalive_connections=16),
                transport=self.transport,
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        reobserve: Callable[[], httpx.Response | None] | None = None,
        allow_status: frozenset[int] = frozenset(),
    ) -> httpx.Response:
        """Send a request with retries; return the response or raise a VendorError.

        Statuses in ``allow_status`` (e.g. 404 on a read) are returned, not raised.
        ``reobserve`` is called before re-sending a non-idempotent write whose outcome is
        unknown (connection dropped after sending, or 500/502/504): if it returns a
        response, the write had happened and that response is the result.
        """
        what = f"{method} {path}"
        idempotent = method in IDEMPOTENT_METHODS
        sent_once = False
        read_key = (path, repr(sorted((params or {}).items())))
        with self._reads_lock:
            if method == "GET" and self.cache_reads and read_key in self._reads:
                return self._reads[read_key]
            if method not in ("GET", "HEAD"):
                self._reads.clear()  # before sending: a lost write may still have happened

        def backoff(exc: Exception) -> bool | float:
            if not isinstance(exc, TransientHttpError):
                return False
            self.counter.record_retry(self.vendor)
            return exc.wait if exc.wait is not None else True

        in_flight = _InFlight(self.vendor, method, path.split("?", 1)[0], self.policy.attempts)
        try:
            with _retrying(in_flight):
                for attempt in stamina.retry_context(
                    on=backoff,
                    attempts=self.policy.attempts,
                    timeout=self.policy.timeout,
                    wait_initial=self.policy.wait_initial,
                    wait_max=self.policy.wait_max,
                    wait_jitter=self.policy.wait_jitter,
                ):
                    with attempt:
                        if sent_once and not idempotent and reobserve is not None:
                            found = reobserve()
                            if found is not None:
                                return found
                        sent_once = True
                        response = self._send_once(method, path, params=params, json=json)
                        if response.status_code in TRANSIENT_STATUSES or (
                            response.status_code in AMBIGUOUS_STATUSES
                        ):
                            wait = parse_retry_after(response.headers)
                            raise TransientHttpError(
                                f"{what} answered {response.status_code}",
                                wait=wait,
                                status=response.status_code,
                            )
                        checked = self._check(response, what, allow_status)
                        if method == "GET" and self.cache_reads and checked.status_code == 200:
                            with self._reads_lock:
                                self._reads[read_key] = checked
                        return checked
        except TransientHttpError as exc:
            if exc.status == 429:
                raise RateLimitedError(
                    f"{self.vendor} kept answering 429 Too Many Requests to {what}",
                    vendor=self.vendor,
                    request=what,
                    status=429,
                    hint="lower --jobs or wait for the rate-limit window to pass",
                ) from None
            detail = f"answered {exc.status}" if exc.status else f"did not answer ({exc.reason})"
            raise VendorError(
                f"{self.vendor} {detail} to {what} after {self.policy.attempts} attempts",
                vendor=self.vendor,
                request=what,
                status=exc.status,
                hint="the vendor may be degraded; rerun apply to resume",
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _send_once(
        self, method: str, path: str, *, params: Mapping[str, Any] | None, json: Any
    ) -> httpx.Response:
        self.budget.acquire()
        try:
            response = self.client.request(method, path, params=params, json=json)
        except (httpx.TransportError, httpx.DecodingError) as exc:
            self.counter.record(self.vendor, method, 0)
            raise classify_transport_error(
                exc, vendor=self.vendor, what=f"{method} {path.split('?', 1)[0]}"
            ) from None
        self.counter.record(self.vendor, method, response.status_code)
        return response

    def _check(
        self, response: httpx.Response, what: str, allow_status: frozenset[int]
    ) -> httpx.Response:
        status = response.status_code
        if status < 400 or status in allow_status:
            return response
        detail = self._safe_detail(response)
        if status in (401, 403) and self.auth_failure(response):
            raise VendorAuthError(
                f"{self.vendor} refused the credentials for {what} ({status}{detail})",
                vendor=self.vendor,
                request=what,
                status=status,
                hint=f"set {self.credential_variable} to a valid token",
            )
        raise VendorError(
            f"{self.vendor} answered {status} to {what}{detail}",
            vendor=self.vendor,
            request=what,
            status=status,
        )

    def _safe_detail(self, response: httpx.Response) -> str:
        try:
            message = self.error_message(response)
        except Exception:  # noqa: BLE001 - an odd error body must not hide the status
            message = ""
        message = " ".join(message.split())[:200]
        return f": {message}" if message else ""


def bearer_http_from_environment(
    env: Mapping[str, str],
    *,
    vendor: str,
    token_variable: str,
    url_variable: str,
    default_url: str,
    token_kind: str,
    counter: RequestCounter,
    error_message: ErrorMessage,
    auth_failure: AuthFailure = is_unauthorized,
    transport: Transport | None = None,
) -> VendorHttp:
    """A ``VendorHttp`` for ``env[url_variable]`` (else ``default_url``) that sends the bearer
    token in ``env[token_variable]``; a missing token is refused like a wrong one
    (``VendorAuthError``, exit 4, naming the variable and asking for ``token_kind``).

    Its own budget is off: the vendor client paces each endpoint with its own buckets.
    """
    check_credential(token_variable, env.get(token_variable, "").strip(" "), vendor=vendor)
    token = env.get(token_variable, "").strip()
    if not token:
        raise VendorAuthError(
            f"{token_variable} is not set",
            vendor=vendor,
            hint=f"set {token_variable} to {token_kind}",
        )
    return VendorHttp(
        vendor=vendor,
        base_url=(env.get(url_variable) or default_url).rstrip("/"),
        headers={"Authorization": f"Bearer {token}"},
        credential_variable=token_variable,
        counter=counter,
        budget=RateBudget(0),
        error_message=error_message,
        auth_failure=auth_failure,
        transport=transport,
        url_variable=url_variable,
    )


def timestamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
