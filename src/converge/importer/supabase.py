"""Supabase → ``data/platforms/supabase/<p>.yaml``: read (I/O), translate (pure).

Read, per project ref: the auth config (secret fields come back as an HMAC of the value
keyed by the ref, never the value), the Data API settings (exposed schemas; the answer's
JWT secret is dropped as it is parsed) and, on the read-only SQL endpoint, every table of
the exposed schemas with its row-level security flag. The same reads ``plan`` makes.

Translate: the auth fields converge manages (``auth_fields.translate_auth`` is the
judge: a field is written only when translating it back gives what Supabase holds); an
OAuth provider's secret as the Infisical reference whose value has that HMAC
(``recover_provider_secret``, which reads only the candidate secrets named after the
provider) or a ``placeholder/…``; RLS as it is (``enforce: false`` when any exposed table
lacks it, which the ``supabase.rls`` policy then refuses: that is the finding); exposed
schemas; and the values converge publishes to Vercel, recognised by value (the project
URL, the anon key).

With several refs (environments, regions) the file holds one auth block: the first ref's,
and every field another ref disagrees on is reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from converge.config.models import NAME_PATTERN, SupabaseAuth
from converge.errors import ConvergeError, VendorAuthError
from converge.importer.findings import Findings
from converge.importer.references import placeholder
from converge.importer.vercel import environments_for, subject_of
from converge.vendors.supabase.auth_fields import PROVIDERS, same_value, translate_auth
from converge.vendors.supabase.client import SupabaseClient
from converge.vendors.supabase.observe import secret_fingerprint
from converge.vendors.supabase.sql import LIST_TABLES
from converge.vendors.supabase.wire import TABLE_ROWS, PostgrestConfig, TableRow
from converge.vendors.vercel.observe import ObservedVariable

SYSTEM = "supabase"
_AUTH_DEFAULTS = SupabaseAuth()
_PROVIDER_EXTRAS = ("url", "email_optional", "skip_nonce_check", "additional_client_ids")
_NAME_OK = re.compile(NAME_PATTERN)


@dataclass(frozen=True)
class ProjectRead:
    """What was read of one Supabase project."""

    ref: str
    auth: Mapping[str, Any]
    postgrest: PostgrestConfig
    tables: tuple[TableRow, ...]


def read_project(client: SupabaseClient, ref: str) -> ProjectRead:
    auth = client.get_auth_config(ref)
    postgrest = client.get_postgrest_config(ref)
    tables: tuple[TableRow, ...] = ()
    if postgrest.schemas:
        rows = client.run_sql(ref, LIST_TABLES, parameters=[list(postgrest.schemas)],
                              read_only=True)
        tables = tuple(TABLE_ROWS.validate_python(rows))
    return ProjectRead(ref=ref, auth=dict(auth), postgrest=postgrest, tables=tables)


def provider_secrets(auth: Mapping[str, Any]) -> dict[str, str]:
    """Provider → the HMAC Supabase shows for its secret (set secrets only)."""
    found = {}
    for provider in sorted(PROVIDERS):
        shown = auth.get(f"external_{provider}_secret")
        if isinstance(shown, str) and shown:
            found[provider] = shown
    return found


def recover_provider_secret(
    *, ref: str, provider: str, shown: str, candidates: Sequence[str],
    read: Callable[[str], str],
) -> str | None:
    """The candidate reference whose value has the HMAC Supabase shows, trying only the
    secrets whose name mentions the provider (``GITHUB_OAUTH_SECRET`` for github); each
    value is read, hashed and dropped at once. None when none matches."""
    hint = provider.split("_")[0].upper()
    for candidate in candidates:
        if hint not in candidate.rpartition("/")[2].upper():
            continue
        try:
            value = read(candidate)
        except VendorAuthError:
            raise
        except ConvergeError:
            continue
        if secret_fingerprint(ref, value) == shown:
            return candidate
    return None


@dataclass
class SupabaseImport:
    document: dict[str, Any] = field(default_factory=dict)
    published: int = 0


def _flag(value: Any) -> bool:
    return bool(value) if value is not None else False


class _Translator:
    def __init__(self, reads: Sequence[ProjectRead], findings: Findings):
        self.reads = reads
        self.primary = reads[0]
        self.findings = findings

    def subject(self, read: ProjectRead | None = None) -> str:
        return f"project {(read or self.primary).ref}"

    def auth(self, secrets: Mapping[str, Mapping[str, str | None]]) -> dict[str, Any]:
        """The auth block, from the first ref; ``secrets``: ref → provider → the recovered
        reference (None: not recovered)."""
        live = self.primary.auth
        entry: dict[str, Any] = {}
        jwt_exp = live.get("jwt_exp")
        if isinstance(jwt_exp, int) and not isinstance(jwt_exp, bool) and jwt_exp >= 1:
            entry["jwt_exp"] = jwt_exp
        else:
            self.findings.differs(SYSTEM, self.subject(), "jwt_exp is not set; the workspace "
                                  f"default {_AUTH_DEFAULTS.jwt_exp} s applies at the next "
                                  "apply")
        site_url = live.get("site_url")
        if isinstance(site_url, str) and site_url:
            entry["site_url"] = site_url
        uris = [u.strip() for u in str(live.get("uri_allow_list") or "").split(",") if u.strip()]
        if any(" " in u or "\t" in u for u in uris):
            self.findings.differs(SYSTEM, self.subject(), "a redirect URL holds a space; "
                                  "uri_allow_list is written without it")
            uris = [u for u in uris if " " not in u and "\t" not in u]
        if uris:
            entry["uri_allow_list"] = uris
        entry["disable_signup"] = _flag(live.get("disable_signup"))
        entry["mailer_autoconfirm"] = _flag(live.get("mailer_autoconfirm"))
        length = live.get("password_min_length")
        if isinstance(length, int) and not isinstance(length, bool) and 6 <= length <= 72:
            entry["password_min_length"] = length
        elif length:
            self.findings.skipped(SYSTEM, self.subject(), "password_min_length is outside "
                                  "6..72, which the workspace cannot say; it stays as it is")
        mfa = self.mfa(live)
        if mfa is not None:
            entry["mfa"] = mfa
        providers = self.providers(live, secrets.get(self.primary.ref, {}))
        if providers:
            entry["providers"] = providers
        self.compare_refs(entry, secrets)
        return entry

    def mfa(self, live: Mapping[str, Any]) -> dict[str, bool] | None:
        factors: dict[str, bool] = {}
        for factor in ("totp", "phone"):
            enroll = _flag(live.get(f"mfa_{factor}_enroll_enabled"))
            verify = _flag(live.get(f"mfa_{factor}_verify_enabled"))
            if enroll != verify:
                self.findings.skipped(SYSTEM, self.subject(), f"MFA {factor} enrolment and "
                                      "verification differ; converge sets both together, so "
                                      "MFA stays as it is")
                return None
            factors[factor] = enroll
        return factors if any(factors.values()) else None

    def providers(
        self, live: Mapping[str, Any], recovered: Mapping[str, str | None]
    ) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for provider in sorted(PROVIDERS):
            prefix = f"external_{provider}_"
            enabled = _flag(live.get(prefix + "enabled"))
            client_id = live.get(prefix + "client_id") or None
            shown = live.get(prefix + "secret") or None
            if not (enabled or client_id or shown):
                continue
            subject = f"provider {provider}"
            if not _NAME_OK.fullmatch(provider):
                self.findings.skipped(SYSTEM, subject, "the workspace cannot name this "
                                      "provider; it stays as it is")
                continue
            entry: dict[str, Any] = {"enabled": enabled}
            if isinstance(client_id, str):
                entry["client_id"] = client_id
            if shown:
                ref = recovered.get(provider)
                if ref is None:
                    ref = placeholder(f"supabase-{provider}-secret")
                    self.findings.placeholder(SYSTEM, subject, "its secret matches no "
                                              "Infisical secret named after the provider; "
                                              f"replace {ref} with its reference")
                entry["secret"] = {"ref": ref}
            elif enabled:
                self.findings.refused(SYSTEM, subject, "enabled without a secret; "
                                  "written as it is, which the supabase.provider-secret "
                                  "policy refuses")
            extras = [name for name in _PROVIDER_EXTRAS if live.get(prefix + name)]
            if extras:
                self.findings.skipped(SYSTEM, subject, f"{', '.join(extras)} cannot be "
                                      "written in the workspace; it stays as it is")
            found[provider] = entry
        return found

    def compare_refs(
        self, entry: Mapping[str, Any], secrets: Mapping[str, Mapping[str, str | None]]
    ) -> None:
        """Report every field another ref holds differently from the one written."""
        settings = translate_auth(entry)
        for read in self.reads[1:]:
            differing = [name for name, value in sorted(settings.values.items())
                         if not same_value(name, read.auth.get(name), value)]
            mine, theirs = secrets.get(self.primary.ref, {}), secrets.get(read.ref, {})
            differing += [f"external_{p}_secret" for p in sorted(mine)
                          if mine[p] is None or theirs.get(p) != mine[p]]
            if differing:
                self.findings.differs(SYSTEM, self.subject(read), f"{', '.join(differing)} "
                                      f"differ from {self.primary.ref}, whose settings are "
                                      "written; the next plan changes this project")

    def database(self) -> tuple[dict[str, Any], dict[str, Any] | None]:
        exposed = list(self.primary.postgrest.schemas)
        for read in self.reads[1:]:
            if set(read.postgrest.schemas) != set(exposed):
                self.findings.differs(SYSTEM, self.subject(read), "exposes other schemas "
                                      f"than {self.primary.ref}, whose are written; the next "
                                      "plan changes this project")
        open_tables = sorted({f"{t.schema_name}.{t.table_name}" for read in self.reads
                              for t in read.tables if not t.rls})
        if open_tables:
            self.findings.refused(SYSTEM, "row-level security", f"off on "
                              f"{', '.join(open_tables)}: written as rls.enforce: false, "
                              "which the supabase.rls policy refuses; set it to true and the "
                              "next apply enables RLS on them")
        rls = {"enforce": not open_tables, "schemas": exposed}
        api = None if exposed == ["public"] else {"schemas": exposed}
        return {"rls": rls}, api


def translate_supabase(
    reads: Sequence[ProjectRead],
    *,
    secrets: Mapping[str, Mapping[str, str | None]],
    published: Sequence[ObservedVariable],
    env_targets: Mapping[str, Sequence[str]],
    env_refs: Mapping[str, Sequence[str]],
    public_values: Mapping[str, Mapping[str, str]],
    findings: Findings,
) -> SupabaseImport:
    """The Supabase file for ``reads`` (first: the ref whose auth is written).

    ``secrets``: ref → provider → recovered reference; ``published``: the Vercel records
    converge published for this project; ``env_targets``/``env_refs``: each environment's
    Vercel targets and Supabase refs; ``public_values``: ref → source (``url``,
    ``anon_key``) → the value it publishes."""
    translator = _Translator(reads, findings)
    doc: dict[str, Any] = {"auth": translator.auth(secrets)}
    database, api = translator.database()
    doc["database"] = database
    if api is not None:
        doc["api"] = api
    publish: dict[str, Any] = {}
    for record in sorted(published, key=lambda r: (r.key, r.targets)):
        entry = _published(record, env_targets, env_refs, public_values, findings)
        if entry is not None:
            publish[record.key] = entry
    if publish:
        doc["publish"] = {"vercel": publish}
    return SupabaseImport(document=doc, published=len(publish))


def _published(
    record: ObservedVariable,
    env_targets: Mapping[str, Sequence[str]],
    env_refs: Mapping[str, Sequence[str]],
    public_values: Mapping[str, Mapping[str, str]],
    findings: Findings,
) -> dict[str, Any] | None:
    subject = f"published {subject_of(record)}"
    envs = environments_for(record.targets, env_targets)
    refs = sorted({r for env in envs or () for r in env_refs.get(env, ())})
    if envs is None or len(refs) != 1:
        findings.skipped(SYSTEM, subject, "its targets do not lead to exactly one imported "
                         "Supabase project; converge leaves it as it is")
        return None
    sources = [source for source, value in sorted(public_values.get(refs[0], {}).items())
               if record.value is not None and value == record.value]
    if not sources:
        findings.skipped(SYSTEM, subject, f"its value is neither the URL nor the anon key of "
                         f"{refs[0]}; converge leaves it as it is")
        return None
    return {"from": sources[0], "environments": envs}
