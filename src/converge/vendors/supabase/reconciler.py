"""``SupabaseReconciler``: the Supabase projects of one converge project, as a
SystemReconciler (auth settings → exposed schemas → RLS → published variables, architecture §6).

observe (per ref: one auth GET, one PostgREST GET, one table listing when RLS is
enforced, one API-key read when the anon key is published; the publisher's
``compare()`` once; desired secrets read through the resolver, never minted, and kept
only as HMACs) → ``diff`` (pure, see ``diff.py``) → ``apply`` one change. ``notes``
lists what the last diff could not verify; ``summary()`` gives the CLI its lines
(``JWT configured: exp=3600s``, ``RLS enforced``).

This package never deletes: auth fields are settings, RLS is only ever enabled (with
``rls_enforce: false`` RLS is left alone entirely), and published variables are removed,
if ever, on the Vercel side. The exposed schemas are the one list converge makes exact:
a schema PostgREST exposes without being declared is taken off ``db_schema``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from converge.changes import Change
from converge.desired import DesiredSupabase
from converge.errors import ConvergeError
from converge.vendors.base import (
    AppliedChange,
    BaseReconciler,
    Note,
    Publication,
    PublishedState,
    ReferenceResolver,
    VariablePublisher,
)
from converge.vendors.supabase.apply import ApplyContext, apply_change, publish_value
from converge.vendors.supabase.auth_fields import translate_auth
from converge.vendors.supabase.client import SupabaseClient
from converge.vendors.supabase.diff import (
    SYSTEM,
    SupabaseDiff,
    desired_keys,
    diff_supabase,
    publish_items,
)
from converge.vendors.supabase.observe import (
    ObservedProject,
    desired_secret_fingerprints,
    observe_project,
)
from converge.vendors.supabase.wire import PostgrestConfig


def default_project_url(ref: str) -> str:
    """The project's API URL as the vendor's CLI builds it (supabase-api.md §2)."""
    return f"https://{ref}.supabase.co"


@dataclass(frozen=True)
class ProjectSummary:
    """What the CLI prints per project ref. ``rls_enforced`` is ``None`` when RLS is not
    managed; else whether every table of the declared schemas has RLS on."""

    ref: str
    environment: str
    region: str | None
    jwt_exp: int | None
    rls_enforced: bool | None
    tables_without_rls: tuple[str, ...]


class SupabaseReconciler(BaseReconciler):
    """Reconciles ``desired`` (one project's ``supabase-config.json``) with Supabase.

    ``resolver`` reads secret references (plan time: to compare HMACs; apply time: to
    send them), ``publisher`` writes the URL and anon key as Vercel variables (wired by the
    engine; needed only when ``desired.publish`` is not empty), ``project_url`` maps a ref
    to the URL published. ``project`` (the converge project) and ``adopt`` are accepted for
    the engine's uniform call and change nothing: Supabase settings carry no ownership
    marker and have no owner to take over.
    """

    system = SYSTEM

    def __init__(
        self,
        desired: DesiredSupabase,
        client: SupabaseClient,
        *,
        resolver: ReferenceResolver | None = None,
        publisher: VariablePublisher | None = None,
        project_url: Callable[[str], str] = default_project_url,
        project: str = "",
        adopt: bool = False,
    ):
        self.desired = desired
        self.project = project
        self.client = client
        self.resolver = resolver
        self.publisher = publisher
        self.adopt = adopt
        self.settings = translate_auth(desired.auth)
        self.publish = publish_items(desired)
        self._observed: dict[str, ObservedProject] | None = None
        self._secret_fps: dict[str, dict[str, str | None]] = {}
        self._published: Mapping[str, PublishedState] = {}
        self._markers: Mapping[str, str] = {}
        self._last: SupabaseDiff | None = None
        self.context = ApplyContext(
            client=client, resolver=resolver, publisher=publisher, project_url=project_url,
            on_auth=self._record_auth, on_rls=self._record_rls,
            on_postgrest=self._record_postgrest,
        )

    @property
    def refs(self) -> tuple[str, ...]:
        return tuple(p.ref for p in self.desired.projects)

    def desired_keys(self) -> frozenset[str]:
        """Per project ref its auth settings and its exposed schemas, and each published
        variable. A table's row-level security is not declared one by one: a table
        becomes an object once converge has enabled its RLS (the journal then has it)."""
        return desired_keys(self.desired, self.publish)

    def observe(self, *, markers: Mapping[str, str]) -> None:
        """Read every project's auth config and PostgREST settings (and tables, and anon
        key when published)."""
        schemas = self.desired.rls_schemas if self.desired.rls_enforce else None
        observed = {
            ref: observe_project(self.client, ref, rls_schemas=schemas) for ref in self.refs
        }
        self._secret_fps = {
            ref: desired_secret_fingerprints(self.settings, ref=ref, resolver=self.resolver)
            for ref in self.refs
        }
        self._published = {}
        if self.publish:
            if self.publisher is None:
                raise ConvergeError(
                    "supabase has values to publish but no Vercel publisher",
                    hint="declare the project's Vercel settings, or stop publishing",
                )
            self.context.anon_keys.clear()
            wanted = [
                Publication(item.key, publish_value(self.context, item.source, item.ref),
                            item.targets)
                for item in self.publish
            ]
            self._published = dict(self.publisher.compare(wanted))
        self._observed = observed
        self._markers = dict(markers)
        self._last = None

    def diff(self) -> Sequence[Change]:
        if self._observed is None:
            raise ConvergeError("supabase: diff() called before observe()")
        self._last = diff_supabase(
            self.desired, self.settings, self._observed, secret_fps=self._secret_fps,
            publish=self.publish, published=self._published, markers=self._markers,
        )
        return self._last.changes

    @property
    def notes(self) -> tuple[Note, ...]:
        """What the last diff could not verify (never secret, never a change)."""
        return self._last.notes if self._last is not None else ()

    def apply(self, change: Change) -> AppliedChange:
        """Perform one change (each is idempotent; see ``apply.py``)."""
        return apply_change(self.context, change)

    def summary(self) -> dict[str, Any]:
        """What the CLI prints after apply, as JSON-ready data: ``rls_enforced`` (true when
        every declared table of every ref has RLS on, ``None`` when RLS is not managed),
        ``jwt_exp`` (ref → seconds) and ``projects`` (one ``ProjectSummary`` each, as a
        dict). Empty before ``observe``."""
        if self._observed is None:
            return {}
        projects = self.project_summaries()
        states = [p.rls_enforced for p in projects]
        return {
            "rls_enforced": None if None in states else all(states),
            "jwt_exp": {p.ref: p.jwt_exp for p in projects},
            "projects": [
                {**asdict(p), "tables_without_rls": list(p.tables_without_rls)}
                for p in projects
            ],
        }

    def project_summaries(self) -> tuple[ProjectSummary, ...]:
        """Per ref: the JWT expiry and whether RLS covers every declared table, as last
        read by ``observe`` and updated by every ``apply`` since."""
        if self._observed is None:
            raise ConvergeError("supabase: summary() called before observe()")
        found = []
        for project in self.desired.projects:
            seen = self._observed[project.ref]
            jwt_exp = seen.auth.get("jwt_exp")
            open_tables = tuple(
                f"{t.schema_name}.{t.table_name}" for t in seen.tables or () if not t.rls
            )
            found.append(ProjectSummary(
                ref=project.ref, environment=project.environment, region=project.region,
                jwt_exp=jwt_exp if isinstance(jwt_exp, int) else None,
                rls_enforced=None if seen.tables is None else not open_tables,
                tables_without_rls=open_tables,
            ))
        return tuple(found)

    def _record_auth(self, ref: str, config: Mapping[str, Any]) -> None:
        if self._observed is not None and ref in self._observed:
            self._observed[ref] = replace(self._observed[ref], auth=dict(config))

    def _record_postgrest(self, ref: str, config: PostgrestConfig) -> None:
        if self._observed is not None and ref in self._observed:
            self._observed[ref] = replace(self._observed[ref], postgrest=config)

    def _record_rls(self, ref: str, schema: str, table: str) -> None:
        if self._observed is None or ref not in self._observed:
            return
        seen = self._observed[ref]
        tables = tuple(
            t.model_copy(update={"rls": True})
            if (t.schema_name, t.table_name) == (schema, table) else t
            for t in seen.tables or ()
        )
        self._observed[ref] = replace(seen, tables=tables if seen.tables is not None else None)

    def close(self) -> None:
        self.client.close()
