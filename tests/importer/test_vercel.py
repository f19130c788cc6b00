"""Vercel records into the Vercel file (the pure part): targets to environments, values
of plain records only, references recovered from the marker's digest, placeholders."""

from __future__ import annotations

from converge.importer.findings import Findings
from converge.importer.references import DigestIndex
from converge.importer.vercel import VercelImport, environments_for, translate_vercel
from converge.vendors.vercel.observe import ObservedVariable
from converge.vendors.vercel.ownership import Ownership, ref_digest

ENVS = {"prod": ("production",), "preview": ("development", "preview")}
ID_REF = "identity/dashboard@analytics-prod/client-id"


def record(key: str, *targets: str, type: str = "sensitive", value: str | None = None,
           owner: str | None = "vercel", project: str = "analytics", ref: str | None = None,
           rot: int = 0, comment: str = "", branch: str | None = None) -> ObservedVariable:
    ownership = (Ownership(owner=owner, project=project, ref=ref_digest(ref), rot=rot, fp="f")
                 if owner else None)
    return ObservedVariable(id=f"{key}-{'+'.join(targets)}", key=key, type=type,
                            targets=tuple(sorted(targets)), git_branch=branch,
                            custom_environment_ids=(), value=value, user_comment=comment,
                            ownership=ownership, marker="m")


def translate(*records: ObservedVariable) -> tuple[VercelImport, Findings]:
    findings = Findings()
    out = translate_vercel(records, project="analytics", env_targets=ENVS,
                           references=DigestIndex([ID_REF, "secret/prod/api/TOKEN"]),
                           findings=findings)
    return out, findings


def test_targets_become_the_environments_that_feed_exactly_them() -> None:
    assert environments_for(["production"], ENVS) == ["prod"]
    assert environments_for(["development", "preview", "production"], ENVS) == [
        "preview", "prod"]
    assert environments_for(["preview"], ENVS) is None  # preview also feeds development
    assert environments_for(["production"], {"a": ("production",), "b": ("production",)}) is None


def test_managed_records_come_back_as_the_workspace_wrote_them() -> None:
    out, findings = translate(
        record("NEXT_PUBLIC_APP_NAME", "production", "preview", "development", type="plain",
               value="Analytics", comment="shown in the header"),
        record("INFISICAL_CLIENT_ID", "production", ref=ID_REF),
        record("INFISICAL_CLIENT_ID", "preview", "development", type="encrypted",
               ref="secret/prod/api/TOKEN", rot=2),
    )
    assert out.document() == {
        "public": {"NEXT_PUBLIC_APP_NAME": {
            "value": "Analytics", "environments": ["preview", "prod"],
            "comment": "shown in the header"}},
        "server": {"INFISICAL_CLIENT_ID": [
            {"ref": "secret/prod/api/TOKEN", "environments": ["preview"], "rotate": 2},
            {"ref": ID_REF, "environments": ["prod"]}]},
    }
    assert out.adopt == [] and findings.items == [] and out.records == 3


def test_an_unrecoverable_reference_is_a_placeholder_with_a_line() -> None:
    out, findings = translate(
        record("INFISICAL_API_KEY", "production", ref="secret/prod/gone/KEY"),
        record("INFISICAL_TOKEN", "production", owner=None),
    )
    assert out.server["INFISICAL_API_KEY"] == [
        {"ref": "placeholder/INFISICAL_API_KEY", "environments": ["prod"]}]
    assert out.server["INFISICAL_TOKEN"] == [
        {"ref": "placeholder/INFISICAL_TOKEN", "environments": ["prod"]}]
    assert [(f.kind, f.subject) for f in findings.items] == [
        ("placeholder", "INFISICAL_API_KEY (production)"),
        ("placeholder", "INFISICAL_TOKEN (production)")]
    assert "vercel/INFISICAL_TOKEN under adopt:" in findings.items[1].message
    assert out.adopt == []  # a value nobody can verify is not adopted behind anyone's back


def test_what_cannot_be_written_is_left_out_with_a_reason() -> None:
    out, findings = translate(
        record("SEGMENT_WRITE_KEY", "production", type="encrypted", owner=None),
        record("NODE_ENV", "production", type="plain", value="production", owner=None),
        record("NEXT_PUBLIC_STRIPE", "production", type="plain", owner=None,
               value="sk_live_" + "a1B2c3D4e5F6g7H8i9J0k1L2"),
        record("NEXT_PUBLIC_BRANCH", "preview", type="plain", value="x", owner=None,
               branch="feature"),
        record("NEXT_PUBLIC_OTHER", "production", type="plain", value="x", project="journal"),
        record("NEXT_PUBLIC_SUPABASE_URL", "production", type="plain", value="https://x",
               owner="supabase"),
    )
    assert out.document() == {}
    assert [f.subject for f in findings.items] == [
        "NEXT_PUBLIC_BRANCH (preview)", "NEXT_PUBLIC_OTHER (production)",
        "NEXT_PUBLIC_STRIPE (production)", "NODE_ENV (production)",
        "SEGMENT_WRITE_KEY (production)"]
    assert "looks like a secret" in findings.items[2].message
    assert "sk_live" not in " ".join(f.message for f in findings.items)
    assert [r.key for r in out.published] == ["NEXT_PUBLIC_SUPABASE_URL"]


def test_an_unmanaged_public_value_is_adopted() -> None:
    out, findings = translate(record("NEXT_PUBLIC_APP_NAME", "production", type="plain",
                                     value="Analytics", owner=None))
    assert out.public == {"NEXT_PUBLIC_APP_NAME": [{"value": "Analytics",
                                                    "environments": ["prod"]}]}
    assert out.adopt == ["vercel/NEXT_PUBLIC_APP_NAME"]
    assert [f.kind for f in findings.items] == ["adopt"]
