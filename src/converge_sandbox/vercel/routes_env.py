"""The project env-var endpoints: list, create, get one, edit, delete, batch delete, pull.

Versions: the SDK uses ``/v10`` list/create, ``/v1`` get-one, ``/v9`` edit/delete and
``/v1`` batch delete; the CLI uses ``/v10`` for everything and ``/v3/env/pull`` to read
values; Terraform mixes in ``/v8`` (list with ``decrypt=true``, delete) and ``/v10``
(get-one, edit). Every one of those prefixes is routed to the same handler; only
``/v8 … ?decrypt=true`` lists plaintext (vercel-api.md §1, "decrypt behaviour").

Every read-modify-write holds ``state.lock`` so that two requests cannot both pass the
uniqueness check for the same key.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from converge_sandbox.vercel import rules
from converge_sandbox.vercel.errors import VercelApiError, bad_request, env_not_found, not_found
from converge_sandbox.vercel.models import TARGETS, EnvRecord, ProjectRecord
from converge_sandbox.vercel.scope import Caller, resolve_project
from converge_sandbox.vercel.state import VercelState, new_ciphertext
from converge_sandbox.vercel.wire import Reveal, render_env, render_pull_value, system_env

LIST_VERSIONS = ("v8", "v9", "v10")
CREATE_VERSIONS = ("v8", "v9", "v10")
GET_ONE_VERSIONS = ("v1", "v9", "v10")
EDIT_VERSIONS = ("v8", "v9", "v10")
DELETE_VERSIONS = ("v8", "v9", "v10")


async def read_json(request: Request) -> Any:
    """The JSON body, or Vercel's 400 for a body that is not JSON."""
    raw = await request.body()
    if not raw:
        raise bad_request("Invalid request: missing request body.")
    try:
        return json.loads(raw)
    except ValueError:
        raise bad_request("Invalid request: the body is not valid JSON.") from None


class EnvService:
    """The env-var operations behind the routes, each one a whole Vercel request."""

    def __init__(self, state: VercelState):
        self.state = state

    # create ----------------------------------------------------------------------------

    def create_one(
        self, item: rules.EnvInput, *, caller: Caller, project: ProjectRecord, upsert: bool
    ) -> EnvRecord:
        """Create one var, or with ``upsert`` overwrite the one with exactly the same key,
        branch and targets; raise the Vercel error the item fails with."""
        rules.check_key(item.key)
        rules.check_value(item.key, item.value, item.type)
        rules.check_placement(
            key=item.key,
            env_type=item.type,
            target=item.target,
            git_branch=item.git_branch,
            custom_environment_ids=item.custom_environment_ids,
            project=project,
            team=caller.team,
        )
        existing = self.state.envs(project.id)
        clashing = rules.clashes(
            existing,
            key=item.key,
            git_branch=item.git_branch,
            target=item.target,
            custom_environment_ids=item.custom_environment_ids,
        )
        now = self.state.now_ms()
        if clashing:
            exact = [r for r in clashing if rules.is_exact(r, item.target,
                                                            item.custom_environment_ids)]
            if upsert and len(clashing) == 1 and exact:
                record = exact[0]
                rules.check_type_change(record, item.type, names_key=False)
                record.value = item.value
                record.type = item.type
                record.ciphertext = new_ciphertext()
                if item.comment is not None:
                    record.comment = item.comment
                if item.visibility is not None:
                    record.visibility = item.visibility
                record.updated_at = now
                record.updated_by = caller.user.id
                self.state.put_env(record)
                return record
            if exact and not upsert:
                raise rules.already_exists(exact[0])
            partial = next((r for r in clashing if r not in exact), clashing[0])
            raise rules.conflict(partial, item.target)
        rules.check_room(existing, item.target, item.key)
        created_at = max([now, *(r.created_at + 1 for r in existing)])
        record = EnvRecord(
            id=self.state.new_env_id(project.id),
            project_id=project.id,
            key=item.key,
            value=item.value,
            ciphertext=new_ciphertext(),
            type=item.type,
            target=item.target,
            git_branch=item.git_branch,
            custom_environment_ids=item.custom_environment_ids,
            comment=item.comment,
            visibility=item.visibility,
            created_at=created_at,
            updated_at=created_at,
            created_by=caller.user.id,
            updated_by=caller.user.id,
        )
        self.state.put_env(record)
        return record

    def create(
        self, body: Any, *, caller: Caller, project: ProjectRecord, upsert: bool
    ) -> Response:
        """One object in, one object out; an array in, ``created[]`` and ``failed[]`` out.

        All items failing is 400 with ``failed[]`` (terraform-provider-vercel#383: "No
        environment variables were created"); some failing is 201 with a partial
        ``failed``. A single object that fails answers with its own error and status.
        """
        if isinstance(body, list):
            if not body:
                raise bad_request("Invalid request: body should NOT have fewer than 1 items.")
            created: list[dict[str, Any]] = []
            failed: list[dict[str, Any]] = []
            with self.state.lock:
                for raw in body:
                    try:
                        item = rules.parse_create_item(raw)
                        record = self.create_one(
                            item, caller=caller, project=project, upsert=upsert
                        )
                    except VercelApiError as err:
                        failed.append({"error": err.error_object()})
                        continue
                    created.append(render_env(record, Reveal.HIDDEN))
            if not created:
                return bad_request("No environment variables were created").to_response(
                    failed=failed
                )
            return JSONResponse({"created": created, "failed": failed}, status_code=201)
        item = rules.parse_create_item(body)
        with self.state.lock:
            record = self.create_one(item, caller=caller, project=project, upsert=upsert)
        return JSONResponse(
            {"created": render_env(record, Reveal.HIDDEN), "failed": []}, status_code=201
        )

    # edit ------------------------------------------------------------------------------

    def edit(
        self, record: EnvRecord, patch: rules.EnvPatch, *, caller: Caller,
        project: ProjectRecord,
    ) -> EnvRecord:
        """Apply a PATCH (``rules.check_type_change`` says which sensitivity changes the
        service refuses)."""
        new_type = patch.type or record.type
        rules.check_type_change(record, new_type, names_key=patch.key is not None)
        key = patch.key if patch.key is not None else record.key
        value = patch.value if patch.value is not None else record.value
        target = patch.target if patch.target is not None else list(record.target)
        branch = patch.git_branch if patch.git_branch_set else record.git_branch
        custom = (patch.custom_environment_ids if patch.custom_environment_ids is not None
                  else list(record.custom_environment_ids))
        if key != record.key:
            rules.check_key(key)
        rules.check_value(key, value, new_type)
        rules.check_placement(
            key=key, env_type=new_type, target=target, git_branch=branch,
            custom_environment_ids=custom, project=project, team=caller.team,
        )
        others = rules.clashes(
            self.state.envs(project.id), key=key, git_branch=branch, target=target,
            custom_environment_ids=custom, exclude_id=record.id,
        )
        if others:
            raise rules.conflict(others[0], target)
        if value != record.value or new_type != record.type:
            record.ciphertext = new_ciphertext()
        record.key, record.value, record.type = key, value, new_type
        record.target, record.git_branch, record.custom_environment_ids = target, branch, custom
        if patch.comment is not None:
            record.comment = patch.comment
        if patch.visibility is not None:
            record.visibility = patch.visibility
        record.updated_at = self.state.now_ms()
        record.updated_by = caller.user.id
        self.state.put_env(record)
        return record

    # reads -----------------------------------------------------------------------------

    def pull(self, project: ProjectRecord, target: str, branch: str | None) -> dict[str, str]:
        """What ``vercel env pull`` writes: system vars, then the project's vars for the
        target; on a branch, a branch-scoped preview var wins over the generic one."""
        env = system_env(target)
        records = [r for r in self.state.envs(project.id) if target in r.target]
        generic = [r for r in records if r.git_branch is None]
        scoped = [r for r in records if branch is not None and r.git_branch == branch]
        for record in [*generic, *scoped]:
            env[record.key] = render_pull_value(record)
        return env


def _filter_envs(records: list[EnvRecord], request: Request) -> list[EnvRecord]:
    """Apply the list filters: ``target`` (sent by the CLI), ``gitBranch`` (vars that apply
    on that branch: branch-less ones and the branch's own), custom environments."""
    query = request.query_params
    target = query.get("target")
    if target:
        if target not in TARGETS:
            raise bad_request("Invalid request: `target` should be equal to one of the "
                              "allowed values \"production, preview, development\".")
        records = [r for r in records if target in r.target]
    branch = query.get("gitBranch")
    if branch:
        records = [r for r in records if r.git_branch in (None, branch)]
    custom = query.get("customEnvironmentId") or query.get("customEnvironmentSlug")
    if custom:
        records = [r for r in records if custom in r.custom_environment_ids]
    return records


def _paginate(records: list[EnvRecord], request: Request) -> tuple[list[EnvRecord], int | None]:
    """``limit``/``until`` paging as the Terraform provider drives it against ``/v8``:
    newest first, ``pagination.next`` is the ``createdAt`` to pass as ``until``."""
    query = request.query_params
    if "limit" not in query and "until" not in query:
        return records, None
    try:
        limit = int(query.get("limit", "100"))
        until = int(query["until"]) if "until" in query else None
    except ValueError:
        raise bad_request("Invalid request: `limit` and `until` should be numbers.") from None
    newest_first = sorted(records, key=lambda r: r.created_at, reverse=True)
    if until is not None:
        newest_first = [r for r in newest_first if r.created_at < until]
    page = newest_first[: max(limit, 1)]
    more = len(newest_first) > len(page)
    return page, (page[-1].created_at if more and page else None)


def env_routes(state: VercelState) -> list[BaseRoute]:
    """Routes for every env-var endpoint and version prefix clients use."""
    service = EnvService(state)

    def find(project: ProjectRecord, request: Request) -> EnvRecord:
        env_id = str(request.path_params["id"])
        record = state.env(project.id, env_id)
        if record is None:
            raise env_not_found(env_id)
        return record

    async def list_envs(request: Request) -> Response:
        _, project = resolve_project(request, state)
        version = request.url.path.split("/")[1]
        decrypt = version == "v8" and request.query_params.get("decrypt") == "true"
        records = _filter_envs(state.envs(project.id), request)
        page, next_cursor = _paginate(records, request)
        reveal = Reveal.DECRYPTED if decrypt else Reveal.HIDDEN
        return JSONResponse({
            "envs": [render_env(r, reveal, with_security=True) for r in page],
            "pagination": {"count": len(page), "next": next_cursor, "prev": None},
        })

    async def create_envs(request: Request) -> Response:
        caller, project = resolve_project(request, state)
        body = await read_json(request)
        upsert = request.query_params.get("upsert") == "true"
        return service.create(body, caller=caller, project=project, upsert=upsert)

    async def get_env(request: Request) -> Response:
        _, project = resolve_project(request, state)
        return JSONResponse(render_env(find(project, request), Reveal.GET_ONE))

    async def edit_env(request: Request) -> Response:
        caller, project = resolve_project(request, state)
        patch = rules.parse_patch(await read_json(request))
        with state.lock:
            record = service.edit(find(project, request), patch, caller=caller,
                                  project=project)
        return JSONResponse(render_env(record, Reveal.HIDDEN))

    async def delete_env(request: Request) -> Response:
        _, project = resolve_project(request, state)
        with state.lock:
            record = find(project, request)
            state.delete_env(record)
        return JSONResponse(render_env(record, Reveal.HIDDEN))

    async def batch_delete(request: Request) -> Response:
        _, project = resolve_project(request, state)
        ids = _parse_ids(await read_json(request))
        deleted: list[str] = []
        with state.lock:
            for env_id in ids:
                record = state.env(project.id, env_id)
                if record is not None and state.delete_env(record):
                    deleted.append(env_id)
        return JSONResponse({"deleted": len(deleted), "ids": deleted})

    async def pull(request: Request) -> Response:
        _, project = resolve_project(request, state)
        target = str(request.path_params["target"])
        if target not in TARGETS:
            raise not_found(f"Could not find the environment: {target}")
        branch = request.path_params.get("gitBranch")
        return JSONResponse({"env": service.pull(project, target, branch)})

    base = "/{v}/projects/{{idOrName}}/env"
    routes: list[BaseRoute] = []
    routes += [Route(base.format(v=v), list_envs, methods=["GET"]) for v in LIST_VERSIONS]
    routes += [Route(base.format(v=v), create_envs, methods=["POST"]) for v in CREATE_VERSIONS]
    routes += [Route("/v1/projects/{idOrName}/env", batch_delete, methods=["DELETE"])]
    routes += [Route(base.format(v=v) + "/{id}", get_env, methods=["GET"])
               for v in GET_ONE_VERSIONS]
    routes += [Route(base.format(v=v) + "/{id}", edit_env, methods=["PATCH"])
               for v in EDIT_VERSIONS]
    routes += [Route(base.format(v=v) + "/{id}", delete_env, methods=["DELETE"])
               for v in DELETE_VERSIONS]
    routes += [
        Route("/v3/env/pull/{idOrName}/{target}", pull, methods=["GET"]),
        Route("/v3/env/pull/{idOrName}/{target}/{gitBranch:path}", pull, methods=["GET"]),
    ]
    return routes


def _parse_ids(body: Any) -> list[str]:
    """``{"ids": [...]}`` with 1 to 1000 strings and nothing else."""
    if not isinstance(body, dict):
        raise bad_request("Invalid request: body should be object.")
    for name in body:
        if name != "ids":
            raise bad_request(f"Invalid request: should NOT have additional property `{name}`.")
    ids = body.get("ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise bad_request("Invalid request: `ids` should be array of strings.", "MISSING_ID")
    if not ids:
        raise bad_request("Invalid request: `ids` should NOT have fewer than 1 items.",
                          "MISSING_ID")
    if len(ids) > rules.MAX_BATCH_DELETE_IDS:
        raise bad_request(
            f"Invalid request: `ids` should NOT have more than {rules.MAX_BATCH_DELETE_IDS} "
            "items.", "TOO_MANY_IDS",
        )
    return list(dict.fromkeys(ids))

