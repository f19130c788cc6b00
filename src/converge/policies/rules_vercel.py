"""Built-in Vercel rules: what reaches browsers is public, what stays on servers is a reference.

A ``NEXT_PUBLIC_*`` value is inlined into the JavaScript bundle, so anything secret in it
is published to every visitor; a server variable must be an ``INFISICAL_*`` reference so
no literal secret ever sits in the repository. A Supabase service_role JWT in a public
value is also reported under ``supabase.service-role-exposed``: it bypasses every RLS
policy, so it is named by the rule that protects the database as well. A public value
holding control, line-break, bidi or invisible characters fails ``vercel.public-characters``
(see ``policies.characters`` for why each is refused).
"""

from __future__ import annotations

from converge.config.crosscheck import entry_path
from converge.policies.characters import describe_unsafe
from converge.policies.context import RuleContext
from converge.policies.secrets import find_secrets

PUBLIC_PREFIX = "NEXT_PUBLIC_"
SERVER_PREFIX = "INFISICAL_"


def check_vercel(ctx: RuleContext) -> None:
    vercel = ctx.inputs.vercel
    if vercel is None:
        return
    raw = ctx.inputs.raw("vercel")
    for key in sorted(vercel.public):
        resource = f"vercel/{key}"
        if key.startswith(PUBLIC_PREFIX):
            ctx.passed("vercel.public-prefix", resource, f"public variable {key} starts with "
                       f"{PUBLIC_PREFIX}", kind="vercel", path=("public", key))
        else:
            ctx.failed("vercel.public-prefix", resource, f"public variable {key} must start with "
                       f"{PUBLIC_PREFIX}: Next.js only inlines such keys into the browser bundle",
                       kind="vercel", path=("public", key))
        secret_found = role_found = chars_found = False
        for index, entry in enumerate(vercel.public[key]):
            path = (*entry_path(raw, "public", key, index), "value")
            unsafe = describe_unsafe(entry.value)
            if unsafe:
                chars_found = True
                ctx.failed("vercel.public-characters", resource, f"public variable {key} holds "
                           f"{unsafe}; control, line-break, bidi and invisible characters "
                           "hide what a browser-bound value says, so remove them",
                           kind="vercel", path=path)
            findings = find_secrets(entry.value, key=key)
            if findings:
                secret_found = True
                kinds = ", ".join(f.kind for f in findings)
                ctx.failed("vercel.public-secret", resource, f"public variable {key} holds what "
                           f"looks like a secret ({kinds}); public values ship to browsers, so "
                           "move it to server as a reference", kind="vercel", path=path)
            if any(f.service_role for f in findings):
                role_found = True
                ctx.failed("supabase.service-role-exposed", resource, f"public variable {key} "
                           "holds a Supabase service_role key, which bypasses row-level security",
                           kind="vercel", path=path)
        if not secret_found:
            ctx.passed("vercel.public-secret", resource, f"public variable {key} holds no "
                       "secret", kind="vercel", path=("public", key))
        if not role_found:
            ctx.passed("supabase.service-role-exposed", resource, f"public variable {key} "
                       "holds no service_role key", kind="vercel", path=("public", key))
        if not chars_found:
            ctx.passed("vercel.public-characters", resource, f"public variable {key} holds "
                       "only printable characters", kind="vercel", path=("public", key))
    for key in sorted(vercel.server):
        check_server_key(ctx, raw, key, [e.ref is not None for e in vercel.server[key]])


def check_server_key(ctx: RuleContext, raw: object, key: str, is_ref: list[bool]) -> None:
    """A server key is ``INFISICAL_*`` and every one of its entries is a reference."""
    resource = f"vercel/{key}"
    ok = True
    if not key.startswith(SERVER_PREFIX):
        ok = False
        ctx.failed("vercel.server-reference", resource, f"server variable {key} must start with "
                   f"{SERVER_PREFIX}: servers read other secrets from Infisical at run time",
                   kind="vercel", path=("server", key))
    for index, reference in enumerate(is_ref):
        if not reference:
            ok = False
            path = (*entry_path(raw, "server", key, index), "value")
            ctx.failed("vercel.server-reference", resource, f"server variable {key} holds a "
                       "literal value; give 'ref:' so the value never sits in the repository",
                       kind="vercel", path=path)
    if ok:
        ctx.passed("vercel.server-reference", resource, f"server variable {key} is an "
                   f"{SERVER_PREFIX} reference", kind="vercel", path=("server", key))
