"""Secret folders: the tree every secret lives in, one per project environment.

As on the service, each environment has a root folder (``/``, named ``root``) and every
other folder hangs under a parent; a secret can only be written into a folder that
exists. Creating a folder creates the missing folders on its parent path on the way
(the service's ``findClosestFolder`` walk), but refuses one that already exists. A folder
is stored under its full path, so renaming one moves the folders and secrets beneath it.

No HTTP here: ``routes_folders`` and ``routes_secrets`` call these, and the seed uses
``ensure_path`` for the folders its secrets live in.
"""

from __future__ import annotations

import re
from typing import Any

from converge_sandbox.infisical.state import InfisicalState, folder_key, new_id, secret_key

ROOT = "/"
_NAME = re.compile(r"^[a-zA-Z0-9\-_]+$")
INVALID_NAME = ("Invalid folder name. Only alphanumeric characters, dashes, and underscores "
                "are allowed.")


def valid_name(name: str) -> bool:
    """The service's ``isValidFolderName``."""
    return bool(_NAME.match(name))


def normalise_path(path: str) -> str:
    """``prefixWithSlash`` then ``removeTrailingSlash`` (and no empty segments)."""
    path = "/" + path.strip().strip("/")
    return re.sub(r"/+", "/", path)


def join(parent: str, name: str) -> str:
    return normalise_path(f"{parent}/{name}")


def parent_of(path: str) -> str:
    return normalise_path(path.rsplit("/", 1)[0]) if path != ROOT else ROOT


def _new_folder(state: InfisicalState, project_id: str, env: dict[str, Any], path: str,
                parent_id: str | None, description: str | None = None) -> dict[str, Any]:
    now = state.now()
    name = "root" if path == ROOT else path.rsplit("/", 1)[1]
    doc: dict[str, Any] = {
        "id": new_id(), "name": name, "envId": env["id"], "parentId": parent_id,
        "version": 1, "isReserved": False, "description": description,
        "lastSecretModified": None, "createdAt": now, "updatedAt": now,
        "projectId": project_id, "environment": env["slug"], "path": path,
    }
    state.put("folder", folder_key(project_id, env["slug"], path), doc)
    return doc


def ensure_root(state: InfisicalState, project: dict[str, Any], env: dict[str, Any]
                ) -> dict[str, Any]:
    root = state.folder(project["id"], env["slug"], ROOT)
    return root or _new_folder(state, project["id"], env, ROOT, None)


def ensure_path(state: InfisicalState, project: dict[str, Any], env_slug: str, path: str,
                *, description: str | None = None) -> dict[str, Any]:
    """The folder at ``path``, creating it and every missing folder above it;
    ``description`` goes to the last folder if it is created here."""
    env = state.environment(project, env_slug)
    current = ensure_root(state, project, env)
    target = normalise_path(path)
    walked = ROOT
    for segment in [s for s in target.split("/") if s]:
        walked = join(walked, segment)
        found = state.folder(project["id"], env_slug, walked)
        current = found or _new_folder(state, project["id"], env, walked, current["id"],
                                       description if walked == target else None)
    return current


def touch(state: InfisicalState, project_id: str, env_slug: str, path: str) -> None:
    """Record that a secret in the folder changed (``lastSecretModified``)."""
    doc = state.folder(project_id, env_slug, path)
    if doc is not None:
        doc["lastSecretModified"] = state.now()
        state.put("folder", folder_key(project_id, env_slug, path), doc)


def by_id(state: InfisicalState, folder_id: str) -> dict[str, Any] | None:
    return state.first("folder", lambda f: f["id"] == folder_id)


def children(state: InfisicalState, project_id: str, env_slug: str, path: str
             ) -> list[dict[str, Any]]:
    """The folders directly under ``path``, by name."""
    found = [f for f in state.list_docs("folder", f"{project_id}|{env_slug}|")
             if f["path"] != ROOT and parent_of(f["path"]) == path]
    return sorted(found, key=lambda f: f["name"])


def descendants(state: InfisicalState, project_id: str, env_slug: str, path: str
                ) -> list[dict[str, Any]]:
    """Every folder below ``path``, parents before children."""
    below = path.rstrip("/") + "/"
    found = [f for f in state.list_docs("folder", f"{project_id}|{env_slug}|")
             if f["path"] != path and f["path"].startswith(below)]
    return sorted(found, key=lambda f: (f["path"].count("/"), f["path"]))


def has_contents(state: InfisicalState, folder: dict[str, Any]) -> bool:
    """Whether a folder holds secrets or subfolders (then deleting it needs force)."""
    project_id, env_slug, path = folder["projectId"], folder["environment"], folder["path"]
    return bool(state.secrets_at(project_id, env_slug, path)
                or children(state, project_id, env_slug, path))


def view(doc: dict[str, Any], *, with_path: bool = False) -> dict[str, Any]:
    """The ``SecretFoldersSchema`` row the API returns (plus ``path`` where it says so)."""
    keys = ("id", "name", "envId", "version", "parentId", "isReserved", "description",
            "lastSecretModified", "createdAt", "updatedAt")
    row = {k: doc.get(k) for k in keys}
    if with_path:
        row["path"] = doc["path"]
    return row


def _move(state: InfisicalState, project_id: str, env_slug: str, old: str, new: str) -> None:
    """Re-file every folder and secret at or below ``old`` under ``new``."""
    below = old.rstrip("/") + "/"
    for doc in state.list_docs("folder", f"{project_id}|{env_slug}|"):
        if doc["path"] == old or doc["path"].startswith(below):
            state.delete("folder", folder_key(project_id, env_slug, doc["path"]))
            doc["path"] = new + doc["path"][len(old):]
            state.put("folder", folder_key(project_id, env_slug, doc["path"]), doc)
    for secret in state.secrets_at(project_id, env_slug, old, recursive=True):
        state.delete("secret", secret_key(project_id, env_slug, secret["secretPath"],
                                          secret["secretKey"]))
        secret["secretPath"] = new + secret["secretPath"][len(old):]
        state.put("secret", secret_key(project_id, env_slug, secret["secretPath"],
                                       secret["secretKey"]), secret)


def rename(state: InfisicalState, folder: dict[str, Any], name: str,
           description: str | None) -> dict[str, Any]:
    project_id, env_slug, old = folder["projectId"], folder["environment"], folder["path"]
    new = join(parent_of(old), name)
    if new != old:
        _move(state, project_id, env_slug, old, new)
    doc = state.folder(project_id, env_slug, new)
    assert doc is not None
    doc.update(name=name, description=description, updatedAt=state.now())
    state.put("folder", folder_key(project_id, env_slug, new), doc)
    return doc


def delete_tree(state: InfisicalState, folder: dict[str, Any]) -> None:
    """Remove a folder with everything below it (the service's cascading delete)."""
    project_id, env_slug, path = folder["projectId"], folder["environment"], folder["path"]
    for secret in state.secrets_at(project_id, env_slug, path, recursive=True):
        state.delete("secret", secret_key(project_id, env_slug, secret["secretPath"],
                                          secret["secretKey"]))
    for doc in [*descendants(state, project_id, env_slug, path), folder]:
        state.delete("folder", folder_key(project_id, env_slug, doc["path"]))
