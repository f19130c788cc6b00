"""Built-in Supabase rules: short sessions, RLS everywhere PostgREST reaches, no leaked keys.

Why each rule exists: a long ``jwt_exp`` keeps a stolen session useful; a schema exposed
through the Data API without RLS is readable by anyone holding the public anon key; the
service role key and JWT secret bypass RLS entirely, so they may never be published;
OAuth client secrets belong in Infisical; redirect URLs over http or with an open
wildcard let an attacker receive a user's tokens.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from converge.config.models import SupabaseFile
from converge.policies.context import RuleContext

MAX_JWT_EXP = 86400
PUBLISHABLE = frozenset({"url", "anon_key"})
PRIVILEGED = frozenset({"service_role_key", "jwt_secret"})
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# Domains where anyone can get a subdomain: a wildcard over them trusts strangers.
SHARED_HOSTING = frozenset({
    "vercel.app", "netlify.app", "herokuapp.com", "pages.dev", "github.io", "web.app",
    "firebaseapp.com", "onrender.com", "fly.dev", "supabase.co", "workers.dev",
})


def check_supabase(ctx: RuleContext) -> None:
    supabase = ctx.inputs.supabase
    if supabase is None:
        return
    check_jwt_exp(ctx, supabase)
    check_rls(ctx, supabase)
    check_publish(ctx, supabase)
    check_providers(ctx, supabase)
    check_urls(ctx, supabase)


def check_jwt_exp(ctx: RuleContext, supabase: SupabaseFile) -> None:
    exp = supabase.auth.jwt_exp
    ok = exp <= MAX_JWT_EXP
    message = (f"jwt_exp is {exp} s, within {MAX_JWT_EXP} s (24 h)" if ok else
               f"jwt_exp is {exp} s; sessions must expire within {MAX_JWT_EXP} s (24 h)")
    ctx.record("supabase.jwt-exp", "supabase/auth", ok, message, kind="supabase",
               path=("auth", "jwt_exp"))


def check_rls(ctx: RuleContext, supabase: SupabaseFile) -> None:
    """Every schema the Data API exposes (``api.schemas``) must be in ``database.rls``."""
    rls = supabase.database.rls
    raw = ctx.inputs.raw("supabase")
    api_declared = isinstance(raw, dict) and isinstance(raw.get("api"), dict) and (
        "schemas" in raw["api"])
    for index, schema in enumerate(supabase.api.schemas):
        resource = f"supabase/rls/{schema}"
        if not rls.enforce:
            ctx.failed("supabase.rls", resource, f"rls.enforce is false, so tables in exposed "
                       f"schema {schema} are readable with the public anon key",
                       kind="supabase", path=("database", "rls", "enforce"))
        elif schema not in rls.schemas:
            path = ("api", "schemas", index) if api_declared else ("database", "rls", "schemas")
            ctx.failed("supabase.rls", resource, f"schema {schema} is exposed through the Data "
                       "API but not listed in database.rls.schemas", kind="supabase", path=path)
        else:
            ctx.passed("supabase.rls", resource, f"every table of exposed schema {schema} gets "
                       "row-level security", kind="supabase", path=("database", "rls", "schemas"))


def check_publish(ctx: RuleContext, supabase: SupabaseFile) -> None:
    for key in sorted(supabase.publish.vercel):
        entry = supabase.publish.vercel[key]
        resource = f"supabase/publish/{key}"
        source_path = ("publish", "vercel", key, "from")
        key_path = ("publish", "vercel", key)
        exposed = entry.source in PRIVILEGED
        ctx.record("supabase.service-role-exposed", resource, not exposed,
                   f"{key} would publish the {entry.source}, which bypasses row-level security"
                   if exposed else f"{key} publishes no privileged key",
                   kind="supabase", path=source_path if exposed else key_path)
        if entry.source not in PUBLISHABLE:
            ctx.failed("supabase.publish-allowed", resource, f"{key} publishes {entry.source}; "
                       "only url and anon_key may be published", kind="supabase",
                       path=source_path)
        elif not key.startswith("NEXT_PUBLIC_"):
            ctx.failed("supabase.publish-allowed", resource, f"{key} must start with "
                       "NEXT_PUBLIC_: published Supabase values are public values",
                       kind="supabase", path=key_path)
        else:
            ctx.passed("supabase.publish-allowed", resource, f"{key} publishes {entry.source} "
                       "to a public key", kind="supabase", path=key_path)


def check_providers(ctx: RuleContext, supabase: SupabaseFile) -> None:
    for name in sorted(supabase.auth.providers):
        provider = supabase.auth.providers[name]
        resource = f"supabase/provider/{name}"
        path = ("auth", "providers", name)
        if not provider.enabled:
            ctx.passed("supabase.provider-secret", resource, f"provider {name} is disabled",
                       kind="supabase", path=path)
        elif not provider.client_id:
            ctx.failed("supabase.provider-secret", resource, f"enabled provider {name} has no "
                       "client_id", kind="supabase", path=path)
        elif provider.secret is None:
            ctx.failed("supabase.provider-secret", resource, f"enabled provider {name} has no "
                       "secret; give it as {ref: secret/<env>/<path>/<NAME>}", kind="supabase",
                       path=path)
        elif isinstance(provider.secret, str):
            ctx.failed("supabase.provider-secret", resource, f"provider {name} secret is a "
                       "literal; give it as {ref: secret/<env>/<path>/<NAME>}", kind="supabase",
                       path=(*path, "secret"))
        else:
            ctx.passed("supabase.provider-secret", resource, f"provider {name} has a client_id "
                       "and a referenced secret", kind="supabase", path=(*path, "secret"))


def check_urls(ctx: RuleContext, supabase: SupabaseFile) -> None:
    """``site_url`` and every redirect URL: https (localhost excepted), no open wildcard."""
    urls: list[tuple[tuple[str | int, ...], str]] = []
    if supabase.auth.site_url is not None:
        urls.append((("auth", "site_url"), supabase.auth.site_url))
    urls += [(("auth", "uri_allow_list", i), u) for i, u in enumerate(supabase.auth.uri_allow_list)]
    problems = [(path, f"{where(path)} {problem}") for path, url in urls
                if (problem := url_problem(url))]
    for path, message in problems:
        ctx.failed("supabase.https-urls", "supabase/auth", message, kind="supabase", path=path)
    if not problems:
        ctx.passed("supabase.https-urls", "supabase/auth", "site_url and redirect URLs use "
                   "https and no open wildcard", kind="supabase", path=("auth",))


def where(path: tuple[str | int, ...]) -> str:
    return "site_url" if path[-1] == "site_url" else f"uri_allow_list entry {path[-1]}"


def url_problem(url: str) -> str | None:
    """Why ``url`` is unsafe as a site or redirect URL, or None when it is fine."""
    if url.strip("*/") == "":
        return "is a bare wildcard"
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return "is not a valid URL"
    if parts.scheme == "http" and host in LOCAL_HOSTS:
        return None
    if parts.scheme != "https":
        return "must use https (only localhost may use http)"
    if not host:
        return "has no host name"
    labels = host.split(".")
    wild = [i for i, label in enumerate(labels) if "*" in label]
    if not wild:
        return None
    fixed = labels[wild[-1] + 1:]
    open_label = labels[wild[-1]].strip("*") == ""
    if len(fixed) < 2 or (open_label and ".".join(fixed) in SHARED_HOSTING):
        return "has a wildcard that matches hosts outside your domain"
    return None
