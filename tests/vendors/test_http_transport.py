"""The transport is trusted only as far as it deserves (issue 8, item 9).

- a plain ``http://`` vendor URL to a host that is not loopback would send the bearer token
  in clear: refused before any request, naming the variable (loopback stays allowed, the
  sandbox lives there);
- an untrusted TLS certificate is reported at once, naming vendor and host, with no retry
  (a real TLS server on loopback whose certificate no CA on this machine signed);
- a newline or other control character in a token is refused before any request, naming
  the variable and never printing the value;
- transport errors are sorted into transient (retried) and permanent (not) by type.
"""

from __future__ import annotations

import http.server
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme

from converge.errors import ConvergeError, VendorError
from converge.vendors.http import (
    RateBudget,
    RequestCounter,
    RetryPolicy,
    TransientHttpError,
    VendorHttp,
    bearer_http_from_environment,
)
from converge.vendors.infisical.client import InfisicalClient
from converge.vendors.supabase.client import SupabaseClient
from converge.vendors.vercel.client import VercelClient

FAST = RetryPolicy(attempts=4, timeout=10.0, wait_initial=0.01, wait_max=0.02,
                   wait_jitter=0.0)


def vercel_http(env: dict[str, str], **extra: object) -> VendorHttp:
    return bearer_http_from_environment(
        env, vendor="vercel", token_variable="VERCEL_TOKEN", url_variable="VERCEL_API_URL",
        default_url="https://api.vercel.com", token_kind="a Vercel access token",
        counter=RequestCounter(), error_message=lambda r: "", **extra,  # type: ignore[arg-type]
    )


# -- plain http --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["http://api.vercel.example", "http://10.0.0.8:8080", "http://[2001:db8::1]/",
     "http://localhost.evil.example"],
)
def test_plain_http_to_a_remote_host_is_refused_naming_the_variable(url: str) -> None:
    with pytest.raises(ConvergeError) as refused:
        vercel_http({"VERCEL_TOKEN": "tok_abc", "VERCEL_API_URL": url})
    error = refused.value
    assert error.exit_code == 4
    assert error.message.startswith("VERCEL_API_URL uses plain http to a non-loopback host")
    assert "use https" in error.message
    assert "tok_abc" not in error.render() + error.hint


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080", "http://127.3.4.5", "http://[::1]:9000", "http://localhost:1"]
)
def test_plain_http_to_loopback_is_allowed(url: str) -> None:
    http = vercel_http({"VERCEL_TOKEN": "tok_abc", "VERCEL_API_URL": url})
    assert http.base_url == url


@pytest.mark.parametrize("url", ["api.vercel.com", "ftp://api.vercel.com", "https://"])
def test_a_url_that_is_not_http_is_refused_before_any_request(url: str) -> None:
    with pytest.raises(ConvergeError, match=r"^VERCEL_API_URL is not an https:// URL"):
        vercel_http({"VERCEL_TOKEN": "tok_abc", "VERCEL_API_URL": url})


def test_every_vendor_client_refuses_plain_http_to_a_remote_host() -> None:
    counter = RequestCounter()
    cases = [
        ("INFISICAL_API_URL", lambda env: InfisicalClient.from_environment(env, counter=counter),
         {"INFISICAL_TOKEN": "tok"}),
        ("VERCEL_API_URL", lambda env: VercelClient.from_environment(env, counter=counter),
         {"VERCEL_TOKEN": "tok"}),
        ("SUPABASE_API_URL", lambda env: SupabaseClient.from_environment(env, counter=counter),
         {"SUPABASE_ACCESS_TOKEN": "tok"}),
    ]
    for variable, build, env in cases:
        with pytest.raises(ConvergeError, match=rf"^{variable} uses plain http"):
            build({**env, variable: "http://vendor.example"})


# -- tokens ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "what"),
    [("abc\ndef", "a newline"), ("abc\r\n", "a newline"), ("ab\tc", "a tab"),
     ("ab\x00c", "a control character"), ("ab\u2028c", "a line separator"),
     ("ab\u202ec", "an invisible formatting character")],
)
def test_a_control_character_in_a_token_is_refused_naming_the_variable(
    token: str, what: str
) -> None:
    with pytest.raises(ConvergeError) as refused:
        vercel_http({"VERCEL_TOKEN": token, "VERCEL_API_URL": "http://127.0.0.1:9"})
    error = refused.value
    assert error.exit_code == 4
    assert error.message == f"VERCEL_TOKEN contains {what}; a token is one line of printable text"
    assert token.strip() not in error.render() + error.hint


def test_infisical_token_with_a_newline_is_refused_before_any_request() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={})

    with pytest.raises(ConvergeError, match=r"^INFISICAL_TOKEN contains a newline"):
        InfisicalClient.from_environment(
            {"INFISICAL_TOKEN": "eyJ.abc\n.def", "INFISICAL_API_URL": "http://127.0.0.1:9"},
            counter=RequestCounter(), transport=httpx.MockTransport(handler),
        )
    assert sent == []


# -- TLS ---------------------------------------------------------------------------------


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return None


class _CountingServer(http.server.ThreadingHTTPServer):
    """A TLS server on loopback that counts the connections it accepted."""

    accepted = 0

    def get_request(self):  # type: ignore[no-untyped-def]
        self.accepted += 1
        return super().get_request()

    def handle_error(self, request: object, client_address: object) -> None:
        return None  # the refused handshake is the point of the test, not news


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, _CountingServer, trustme.CA]]:
    """An HTTPS server on 127.0.0.1 whose certificate a private CA signed."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    server = _CountingServer(("127.0.0.1", 0), _Ok)
    server.socket = context.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", server, ca
    finally:
        server.shutdown()
        server.server_close()


def test_an_untrusted_certificate_is_reported_at_once_naming_vendor_and_host(
    tls_server: tuple[str, _CountingServer, trustme.CA],
) -> None:
    url, server, _ = tls_server
    counter = RequestCounter()
    http = VendorHttp(vendor="vercel", base_url=url, headers={}, credential_variable="VERCEL_TOKEN",
                      counter=counter, budget=RateBudget(0), policy=FAST)
    try:
        with pytest.raises(VendorError) as failed:
            http.request("GET", "/v9/projects/x")
    finally:
        http.close()
    error = failed.value
    assert error.message.startswith("the TLS certificate of 127.0.0.1 (vercel) could not be "
                                    "verified: ")
    assert "degraded" not in error.render() + error.hint
    assert "SSL_CERT_FILE" in error.hint
    assert counter.retries["vercel"] == 0
    assert server.accepted == 1


def test_a_certificate_signed_by_a_ca_in_ssl_cert_file_is_trusted(
    tls_server: tuple[str, _CountingServer, trustme.CA], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, _, ca = tls_server
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    http = VendorHttp(vendor="vercel", base_url=url, headers={}, credential_variable="VERCEL_TOKEN",
                      counter=RequestCounter(), budget=RateBudget(0), policy=FAST)
    try:
        assert http.request("GET", "/v9/projects/x").status_code == 200
    finally:
        http.close()


# -- transient or permanent, by type --------------------------------------------------------

REQUEST = httpx.Request("GET", "https://api.vercel.com/v9/projects/x")


def _verify_failure() -> httpx.ConnectError:
    try:
        try:
            raise ssl.SSLCertVerificationError(1, "certificate verify failed: self-signed")
        except ssl.SSLError as cause:
            raise httpx.ConnectError("[SSL] verify failed", request=REQUEST) from cause
    except httpx.ConnectError as exc:
        return exc


@pytest.mark.parametrize(
    "error",
    [httpx.ConnectTimeout("t", request=REQUEST), httpx.ReadTimeout("t", request=REQUEST),
     httpx.PoolTimeout("t", request=REQUEST), httpx.ConnectError("refused", request=REQUEST),
     httpx.ReadError("reset", request=REQUEST), httpx.WriteError("pipe", request=REQUEST),
     httpx.RemoteProtocolError("closed", request=REQUEST),
     httpx.ProxyError("proxy down", request=REQUEST)],
    ids=lambda e: type(e).__name__,
)
def test_network_failures_are_transient(error: httpx.TransportError) -> None:
    from converge.vendors.http import classify_transport_error

    assert isinstance(classify_transport_error(error, vendor="vercel", what="GET /x"),
                      TransientHttpError)


@pytest.mark.parametrize(
    "error",
    [httpx.LocalProtocolError("bad header", request=REQUEST),
     httpx.UnsupportedProtocol("ftp", request=REQUEST), _verify_failure()],
    ids=["LocalProtocolError", "UnsupportedProtocol", "certificate"],
)
def test_failures_a_retry_cannot_fix_are_permanent(error: httpx.TransportError) -> None:
    from converge.vendors.http import classify_transport_error

    found = classify_transport_error(error, vendor="vercel", what="GET /x")
    assert isinstance(found, VendorError)
    assert "vercel" in found.message
