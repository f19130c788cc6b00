"""Decide whether a value meant for browsers (a ``NEXT_PUBLIC_*`` variable) holds a secret.

Why not only detect-secrets: its plugins know the token formats (AWS, Stripe, GitHub,
Slack, private keys, ...) and we run them on the string itself, but its entropy
plugins are tuned for source files and would flag the public values a Next.js app
legitimately ships (Stripe publishable keys, a Supabase anon key, analytics ids, commit
hashes). So this module adds three things around the plugins:

- JWTs are decoded (pyjwt, no verification: we classify, we do not trust) so a Supabase
  ``service_role`` key is named as such and an ``anon`` key passes;
- values public by design are recognised first and taken out of the string;
- entropy is judged per token with a length-dependent limit plus a shape test (random
  strings switch between upper case, lower case and digits every few characters; names
  such as ``journal-web-production-eu-west-1`` do not);
- a secret cannot hide behind a split: the value is searched as written, again with its
  invisible characters removed (zero-width, bidi and other format characters, controls),
  and once more with all whitespace removed too -- that last form only for token formats
  with a known prefix (``sk_live_…``, ``AKIA…``, JWTs), since joining the words of
  ordinary text (``Q1 Q2 Q3 2026``) looks random to an entropy test;
- 40 hexadecimal characters are a git commit id only when the key says so
  (``is_commit_key``: ``NEXT_PUBLIC_VERCEL_GIT_COMMIT_SHA``, ``…_GIT_SHA``, ``…_COMMIT``);
  anywhere else they are judged like any hex string (an HMAC-SHA1 or a token is 40 hex
  characters too).

A finding names the kind of secret, never the value: callers print it in messages.
``public_value_problem`` is what the engine runs again on every public value at apply
time: the same detector, plus the characters of ``policies.characters``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import jwt
from detect_secrets.plugins.artifactory import ArtifactoryDetector
from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.plugins.discord import DiscordBotTokenDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.high_entropy_strings import (
    Base64HighEntropyString,
    HexHighEntropyString,
)
from detect_secrets.plugins.mailchimp import MailchimpDetector
from detect_secrets.plugins.npm import NpmDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.square_oauth import SquareOAuthDetector
from detect_secrets.plugins.stripe import StripeDetector
from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
from detect_secrets.plugins.twilio import TwilioKeyDetector

SERVICE_ROLE = "Supabase service_role JWT"

_PLUGINS: tuple[RegexBasedDetector, ...] = (
    ArtifactoryDetector(), AWSKeyDetector(), AzureStorageKeyDetector(),
    DiscordBotTokenDetector(), GitHubTokenDetector(), GitLabTokenDetector(),
    MailchimpDetector(), NpmDetector(), OpenAIDetector(), PrivateKeyDetector(),
    PypiTokenDetector(), SendGridDetector(), SlackDetector(), SquareOAuthDetector(),
    StripeDetector(), TelegramBotTokenDetector(), TwilioKeyDetector(),
)
# detect-secrets' JWT pattern stops before the signature; we need the whole token.
_JWT_TOKEN = re.compile(r"eyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
_BASE64 = Base64HighEntropyString()
_HEX = HexHighEntropyString()

# Secret formats the plugins above do not know (prefixes documented by each vendor).
_EXTRA_FORMATS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Stripe secret key", re.compile(r"\b(?:sk|rk)_test_[0-9A-Za-z]{10,}")),
    ("Stripe webhook secret", re.compile(r"\bwhsec_[0-9A-Za-z]{20,}")),
    ("Supabase secret key", re.compile(r"\bsb_secret_[0-9A-Za-z_-]{10,}")),
    ("GitHub fine-grained token", re.compile(r"\bgithub_pat_[0-9A-Za-z_]{20,}")),
    ("Google OAuth client secret", re.compile(r"\bGOCSPX-[0-9A-Za-z_-]{20,}")),
    ("Anthropic API key", re.compile(r"\bsk-ant-[0-9A-Za-z_-]{20,}")),
    ("Infisical service token", re.compile(r"\bst\.[0-9a-f-]{20,}\.[0-9a-f]{20,}")),
)

# Tokens that look random but are public by design; removed before the entropy test.
_PUBLIC_TOKENS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\bpk_(?:live|test)_[0-9A-Za-z]{10,}"),        # Stripe / Clerk publishable
    re.compile(r"\bsb_publishable_[0-9A-Za-z_-]{10,}"),       # Supabase publishable key
    re.compile(r"\bphc_[0-9A-Za-z]{20,}"),                     # PostHog project key
    re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),                  # Google / Firebase web key
    re.compile(r"\bpk\.eyJ[0-9A-Za-z_-]+\.[0-9A-Za-z_-]+"),   # Mapbox public token
    re.compile(r"\b(?:G|GTM|AW|DC)-[0-9A-Z]{4,12}\b"),         # Google tag ids
    re.compile(r"\b6L[0-9A-Za-z_-]{38}\b"),                  # reCAPTCHA site key
    re.compile(r"\bUA-\d{4,10}-\d{1,4}\b"),                    # Universal Analytics id
    re.compile(r"\b[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\b"),  # UUID
    re.compile(r"\b[0-9a-f]{32}@(?=[A-Za-z0-9.-]*sentry\.io\b)"),  # Sentry DSN public key
)
_GIT_COMMIT = re.compile(r"(?<![0-9a-fA-F])[0-9a-f]{40}(?![0-9a-fA-F])")
GIT_COMMIT_LENGTH = 40
_COMMIT_WORDS = frozenset({"GIT", "COMMIT"})
_COMMIT_LAST_WORDS = frozenset({"SHA", "HASH", "COMMIT", "REV", "REVISION"})
# Invisible code points that are not format (Cf) or control (Cc) characters: variation
# selectors and the Hangul fillers, which render as nothing.
_INVISIBLE_EXTRA = frozenset(
    [*range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0), 0x115F, 0x1160, 0x3164, 0xFFA0]
)
_WHITESPACE = re.compile(r"\s+")

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>]+")
_SENTRY_HOST = re.compile(r"(?:^|\.)(?:sentry\.io|ingest\.sentry\.io)$")
_SECRET_PARAM = re.compile(
    r"(?:^|[_-])(?:token|secret|password|passwd|pwd|api[_-]?key|apikey|key|sig|signature|"
    r"credentials?)$", re.IGNORECASE,
)
_BASE64_TOKEN = re.compile(r"[A-Za-z0-9+/=_-]+")
_BASE64_TOKEN_NO_SLASH = re.compile(r"[A-Za-z0-9+=_-]+")
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")

MIN_PARAM_LENGTH = 8  # ?token=abc is a placeholder, not a credential
MIN_BASE64_LENGTH = 20
MIN_HEX_LENGTH = 32
HEX_LIMIT = 2.5
# Random strings switch case/class often; names average 4+ characters per word.
MAX_RANDOM_WORD_LENGTH = 3.5


@dataclass(frozen=True, order=True)
class SecretFinding:
    """One kind of secret found in a value. ``kind`` is safe to print; the value is not kept."""

    kind: str

    @property
    def service_role(self) -> bool:
        return self.kind == SERVICE_ROLE


def find_secrets(value: str, *, key: str | None = None) -> list[SecretFinding]:
    """Every kind of secret found in ``value`` (of variable ``key``, when known), sorted and
    without duplicates."""
    commit_ok = is_commit_key(key)
    kinds = _detect(value, commit_ok=commit_ok)
    visible = strip_invisible(value)
    if visible != value:
        kinds |= _detect(visible, commit_ok=commit_ok)
    compact = _WHITESPACE.sub("", visible)
    if compact != visible:
        kinds |= _token_formats(compact)[0]
    return sorted(SecretFinding(k) for k in kinds)


def is_commit_key(key: str | None) -> bool:
    """Whether a variable named ``key`` holds a git commit id by its name: a word GIT or
    COMMIT, and a last word SHA, HASH, COMMIT, REV or REVISION
    (``NEXT_PUBLIC_VERCEL_GIT_COMMIT_SHA``, ``NEXT_PUBLIC_GIT_SHA``, ``NEXT_PUBLIC_COMMIT``)."""
    if not key:
        return False
    words = key.upper().split("_")
    return words[-1] in _COMMIT_LAST_WORDS and bool(_COMMIT_WORDS & set(words))


def strip_invisible(value: str) -> str:
    """``value`` without the characters that render as nothing (format and control
    characters other than whitespace, variation selectors, fillers)."""
    return "".join(
        char for char in value
        if char.isspace() or not (
            unicodedata.category(char) in ("Cf", "Cc") or ord(char) in _INVISIBLE_EXTRA
        )
    )


def public_value_problem(key: str, value: str) -> str | None:
    """Why ``value`` may not be published as ``key``, as a phrase naming kinds only
    (``looks like a secret (Stripe Access Key)``, ``holds a bidi control (U+202E)``); None
    when it may. The engine runs this on every public value on its way out, so apply
    refuses what decide refuses."""
    from converge.policies.characters import describe_unsafe

    findings = find_secrets(value, key=key)
    if findings:
        return f"looks like a secret ({', '.join(f.kind for f in findings)})"
    unsafe = describe_unsafe(value)
    return f"holds {unsafe}" if unsafe else None


def _detect(value: str, *, commit_ok: bool) -> set[str]:
    kinds, rest = _token_formats(value)
    for url in _URL.findall(rest):
        kinds.update(_url_findings(url))
    if kinds:
        return kinds
    for pattern in _PUBLIC_TOKENS:
        rest = pattern.sub(" ", rest)
    if commit_ok:
        rest = _GIT_COMMIT.sub(" ", rest)
    kinds.update(_entropy_findings(rest))
    return kinds


def _token_formats(value: str) -> tuple[set[str], str]:
    """Secrets recognised by their format (JWT claims, vendor prefixes), and the rest of
    the value with the JWTs taken out."""
    kinds: set[str] = set()
    rest = value
    for token in sorted(set(_JWT_TOKEN.findall(value)), key=len, reverse=True):
        role = jwt_role(token)
        if role is None:
            continue
        if role != "anon":
            kinds.add(SERVICE_ROLE if role == "service_role" else "JSON Web Token")
        rest = rest.replace(token, " ")
    for plugin in _PLUGINS:
        if any(True for _ in plugin.analyze_string(rest)):
            kinds.add(str(plugin.secret_type))
    for kind, pattern in _EXTRA_FORMATS:
        if pattern.search(rest):
            kinds.add(kind)
    return kinds, rest


def is_service_role_jwt(value: str) -> bool:
    """Whether ``value`` contains a JWT whose ``role`` claim is ``service_role``."""
    return any(jwt_role(token) == "service_role" for token in _JWT_TOKEN.findall(value))


def jwt_role(token: str) -> str | None:
    """The ``role`` claim of a JWT ('' when absent), or None when ``token`` is no JWT."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    role = claims.get("role", "")
    return role if isinstance(role, str) else ""


def _url_findings(url: str) -> Iterator[str]:
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        username, password = parts.username, parts.password
    except ValueError:
        return
    if password:
        yield "URL with embedded credentials"
    elif username and not _SENTRY_HOST.search(host):
        # A Sentry DSN carries its public key as the user name, by design.
        yield "URL with embedded credentials"
    for name, param in parse_qsl(parts.query, keep_blank_values=True):
        if len(param) >= MIN_PARAM_LENGTH and _SECRET_PARAM.search(name) and not any(
            pattern.fullmatch(param) for pattern in _PUBLIC_TOKENS
        ):
            yield "URL with a credential parameter"


def _entropy_findings(text: str) -> Iterator[str]:
    # In URLs '/' separates path segments; elsewhere it is a base64 character.
    splitter = _BASE64_TOKEN_NO_SLASH if "://" in text else _BASE64_TOKEN
    for token in splitter.findall(text):
        if _looks_random_hex(token):
            yield str(_HEX.secret_type)
        elif _looks_random_base64(token):
            yield str(_BASE64.secret_type)


def _looks_random_hex(token: str) -> bool:
    if len(token) < MIN_HEX_LENGTH or not re.fullmatch(r"[0-9a-fA-F]+", token):
        return False
    if token.isdigit():
        return False
    return float(_HEX.calculate_shannon_entropy(token)) > HEX_LIMIT


def base64_limit(length: int) -> float:
    """Entropy below which a token of ``length`` is not random (near the 1st percentile)."""
    return min(4.0, 3.3 + (length - MIN_BASE64_LENGTH) * 0.04)


def _looks_random_base64(token: str) -> bool:
    core = token.strip("=")
    if len(core) < MIN_BASE64_LENGTH:
        return False
    words = _WORD.findall(core)
    if not words or not any(c.isalpha() for c in core):
        return False
    mean_word = sum(len(w) for w in words) / len(words)
    if mean_word >= MAX_RANDOM_WORD_LENGTH:
        return False
    return float(_BASE64.calculate_shannon_entropy(core)) >= base64_limit(len(core))
