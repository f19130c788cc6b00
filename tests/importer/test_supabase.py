"""Supabase settings into the Supabase file (the pure part): the auth fields converge
manages, provider secrets as references or placeholders, RLS as it is, published values
recognised by value, and every disagreement between several refs reported."""

from __future__ import annotations

from typing import Any

from converge.importer.findings import Findings
from converge.importer.supabase import (
    ProjectRead,
    SupabaseImport,
    recover_provider_secret,
    translate_supabase,
)
from converge.vendors.supabase.observe import secret_fingerprint
from converge.vendors.supabase.wire import PostgrestConfig, TableRow
from converge.vendors.vercel.observe import ObservedVariable
from converge.vendors.vercel.ownership import Ownership

EU, US = "authsvceuwestqzvtkwm", "authsvcuseastqzvtkwm"
AUTH: dict[str, Any] = {
    "jwt_exp": 900, "site_url": "https://login.acme.example",
    "uri_allow_list": "https://a.acme.example/cb, https://b.acme.example/cb",
    "disable_signup": True, "mailer_autoconfirm": None, "password_min_length": 14,
    "mfa_totp_enroll_enabled": True, "mfa_totp_verify_enabled": True,
    "mfa_phone_enroll_enabled": False, "mfa_phone_verify_enabled": None,
    "external_github_enabled": True, "external_github_client_id": "Iv1.abc",
    "external_github_secret": "ab" * 32, "external_google_enabled": False,
}


def read(ref: str, auth: dict[str, Any] | None = None, *, schemas: str = "public",
         open_tables: tuple[str, ...] = ()) -> ProjectRead:
    tables = tuple(TableRow(schema_name="public", table_name=t, rls=t not in open_tables)
                   for t in ("profiles", "entries"))
    return ProjectRead(ref=ref, auth=auth or AUTH, postgrest=PostgrestConfig(db_schema=schemas),
                       tables=tables)


def published(key: str, value: str) -> ObservedVariable:
    return ObservedVariable(id=key, key=key, type="plain", targets=("production",),
                            git_branch=None, custom_environment_ids=(), value=value,
                            user_comment="",
                            ownership=Ownership(owner="supabase", project="p", fp="f"),
                            marker="m")


def translate(*reads: ProjectRead, secrets: dict[str, dict[str, str | None]] | None = None,
              records: tuple[ObservedVariable, ...] = ()) -> tuple[SupabaseImport, Findings]:
    findings = Findings()
    out = translate_supabase(
        reads, secrets=secrets or {r.ref: {"github": "secret/prod/auth/GH"} for r in reads},
        published=records, env_targets={"prod": ("production",)},
        env_refs={"prod": [r.ref for r in reads]},
        public_values={EU: {"url": f"https://{EU}.supabase.co", "anon_key": "anon-jwt"}},
        findings=findings)
    return out, findings


def test_the_auth_fields_converge_manages_come_back_in_its_vocabulary() -> None:
    out, findings = translate(read(EU))
    assert out.document == {
        "auth": {
            "jwt_exp": 900, "site_url": "https://login.acme.example",
            "uri_allow_list": ["https://a.acme.example/cb", "https://b.acme.example/cb"],
            "disable_signup": True, "mailer_autoconfirm": False, "password_min_length": 14,
            "mfa": {"totp": True, "phone": False},
            "providers": {"github": {"enabled": True, "client_id": "Iv1.abc",
                                     "secret": {"ref": "secret/prod/auth/GH"}}},
        },
        "database": {"rls": {"enforce": True, "schemas": ["public"]}},
    }
    assert findings.items == []


def test_an_unrecovered_provider_secret_is_a_placeholder() -> None:
    out, findings = translate(read(EU), secrets={EU: {"github": None}})
    assert out.document["auth"]["providers"]["github"]["secret"] == {
        "ref": "placeholder/supabase-github-secret"}
    assert [(f.kind, f.subject) for f in findings.items] == [("placeholder", "provider github")]


def test_tables_without_rls_are_written_as_not_enforced_and_reported() -> None:
    out, findings = translate(read(EU, schemas="public, graphql_public",
                                   open_tables=("profiles",)))
    assert out.document["database"] == {"rls": {"enforce": False,
                                                "schemas": ["public", "graphql_public"]}}
    assert out.document["api"] == {"schemas": ["public", "graphql_public"]}
    assert [(f.kind, f.subject) for f in findings.items] == [("refused", "row-level security")]
    assert "public.profiles" in findings.items[0].message


def test_fields_another_ref_holds_differently_are_reported() -> None:
    other = {**AUTH, "jwt_exp": 3600, "mfa_totp_verify_enabled": True}
    out, findings = translate(read(EU), read(US, other),
                              secrets={EU: {"github": "secret/prod/auth/GH"}, US: {"github": None}})
    assert out.document["auth"]["jwt_exp"] == 900
    (finding,) = findings.items
    assert (finding.kind, finding.subject) == ("differs", f"project {US}")
    assert finding.message.startswith("jwt_exp, external_github_secret differ from " + EU)


def test_mfa_whose_enrolment_and_verification_differ_is_left_alone() -> None:
    out, findings = translate(read(EU, {**AUTH, "mfa_totp_verify_enabled": False}))
    assert "mfa" not in out.document["auth"]
    assert [f.kind for f in findings.items] == ["skipped"]


def test_published_values_are_recognised_by_value() -> None:
    out, findings = translate(read(EU), records=(
        published("NEXT_PUBLIC_SUPABASE_URL", f"https://{EU}.supabase.co"),
        published("NEXT_PUBLIC_SUPABASE_ANON_KEY", "anon-jwt"),
        published("NEXT_PUBLIC_SOMETHING", "else")))
    assert out.document["publish"] == {"vercel": {
        "NEXT_PUBLIC_SUPABASE_ANON_KEY": {"from": "anon_key", "environments": ["prod"]},
        "NEXT_PUBLIC_SUPABASE_URL": {"from": "url", "environments": ["prod"]}}}
    assert [f.subject for f in findings.items] == ["published NEXT_PUBLIC_SOMETHING (production)"]


def test_a_provider_secret_is_recovered_by_its_hmac_reading_only_named_candidates() -> None:
    values = {"secret/prod/auth/GITHUB_OAUTH_SECRET": "gh-value",
              "secret/prod/runtime/DATABASE_URL": "db-value"}
    reads: list[str] = []

    def read_value(ref: str) -> str:
        reads.append(ref)
        return values[ref]

    found = recover_provider_secret(
        ref=EU, provider="github", shown=secret_fingerprint(EU, "gh-value"),
        candidates=sorted(values), read=read_value)
    assert found == "secret/prod/auth/GITHUB_OAUTH_SECRET"
    assert reads == ["secret/prod/auth/GITHUB_OAUTH_SECRET"]  # DATABASE_URL never read
    assert recover_provider_secret(ref=EU, provider="github", shown="00", candidates=
                                   sorted(values), read=read_value) is None
