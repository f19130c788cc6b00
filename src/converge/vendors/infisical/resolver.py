"""``ReferenceResolver`` over Infisical, for the other vendors' server variables.

References (DESIGN §2) and what they resolve to, at apply time only:

- ``identity/<full-name>/client-id``: the identity's universal-auth ``clientId``;
- ``identity/<full-name>/client-secret`` with ``mint=True``: a new universal-auth client
  secret, described ``converge <org>/<project>`` so rotation can find converge's own
  (``mint=False`` is an error: Infisical never shows an existing secret again);
- ``secret/<env>/<path…>/<NAME>``: the value of secret ``NAME`` at ``/<path…>`` in the
  Infisical environment that converge environment ``env`` maps to (``project.yaml``'s
  ``environments.<env>.infisical``, passed in as ``environments``).

Values go straight back to the caller: never logged, never put in an exception.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from converge.errors import ConvergeError
from converge.vendors.infisical import wire
from converge.vendors.infisical.client import InfisicalClient

CLIENT_SECRET_PREFIX = "converge "


class InfisicalResolver:
    """Resolves references for one converge project against its Infisical project."""

    def __init__(
        self,
        client: InfisicalClient,
        *,
        organization: str,
        project: str,
        infisical_project: str,
        environments: Mapping[str, str],
    ):
        self.client = client
        self.owner = f"{organization}/{project}"
        self.infisical_project = infisical_project
        self.environments = dict(environments)
        self._project: wire.Project | None = None
        self._identity_ids: dict[str, str] = {}
        self.minted: dict[str, str] = {}  # identity name -> id of the last secret minted
        self.minted_in_this_run: set[str] = set()  # never retired by this resolver

    @property
    def project(self) -> wire.Project:
        if self._project is None:
            self._project = self.client.get_project(self.infisical_project)
        return self._project

    def resolve(self, ref: str, *, mint: bool = False) -> str:
        kind, _, rest = ref.partition("/")
        if kind == "identity":
            name, _, what = rest.rpartition("/")
            if not name or what not in ("client-id", "client-secret"):
                raise ConvergeError(
                    f"cannot resolve reference {ref}: expected "
                    "identity/<name>/client-id or identity/<name>/client-secret"
                )
            if what == "client-id":
                return self.client_id(name)
            if not mint:
                raise ConvergeError(
                    f"cannot read an existing client secret ({ref}): Infisical shows a client "
                    "secret only when it is minted",
                    hint="mint a new one (raise rotate: on the reference)",
                )
            return self.mint_client_secret(name)
        if kind == "secret":
            parts = rest.split("/")
            if len(parts) < 2 or not all(parts):
                raise ConvergeError(
                    f"cannot resolve reference {ref}: expected secret/<env>/<path…>/<NAME>"
                )
            env, *folders, name = parts
            slug = self.environments.get(env)
            if slug is None:
                raise ConvergeError(
                    f"cannot resolve reference {ref}: environment {env} has no "
                    "Infisical environment in project.yaml"
                )
            path = "/" + "/".join(folders)
            return self.client.get_secret_value(self.project.id, slug, path, name)
        raise ConvergeError(f"cannot resolve reference {ref}: unknown kind {kind!r}")

    def stamp(self, ref: str) -> str | None:
        """``identity/<name>/client-id``: the identity's id (from the identities list) —
        a client id belongs to its identity's universal auth, so a re-created identity
        means a new client id. Other references have no list-level stamp (None)."""
        kind, _, rest = ref.partition("/")
        name, _, what = rest.rpartition("/")
        if kind == "identity" and what == "client-id" and name:
            try:
                return f"identity:{self.identity_id(name)}"
            except ConvergeError:
                return None
        return None

    def identity_id(self, name: str) -> str:
        if name not in self._identity_ids:
            rows = [
                r
                for r in self.client.list_identities(self.project.orgId)
                if r.identity.name == name
            ]
            if not rows:
                raise ConvergeError(
                    f"Infisical has no identity {name}", hint="apply the Infisical system first"
                )
            self._identity_ids[name] = rows[0].identity.id
        return self._identity_ids[name]

    def client_id(self, name: str) -> str:
        ua = self.client.get_universal_auth(self.identity_id(name))
        if ua is None:
            raise ConvergeError(
                f"Infisical identity {name} has no universal auth",
                hint="apply the Infisical system first",
            )
        return ua.clientId

    def mint_client_secret(self, name: str) -> str:
        value, record = self.client.create_client_secret(
            self.identity_id(name), description=f"{CLIENT_SECRET_PREFIX}{self.owner}"
        )
        self.minted[name] = record.id
        self.minted_in_this_run.add(record.id)
        return value

    def minted_id(self, ref: str) -> str | None:
        """The id of the client secret last minted for ``identity/<name>/client-secret``."""
        name = _identity_of(ref)
        return self.minted.get(name) if name else None

    def retire_client_secrets(self, ref: str, *, keep: Collection[str]) -> list[str]:
        """Revoke the converge-minted secrets of ``ref``'s identity that are neither in
        ``keep`` (held by a Vercel variable) nor minted during this run."""
        name = _identity_of(ref)
        if name is None:
            return []
        identity_id = self.identity_id(name)
        spared = set(keep) | self.minted_in_this_run
        revoked: list[str] = []
        for secret in self.client.list_client_secrets(identity_id):
            if (
                secret.id not in spared
                and not secret.isClientSecretRevoked
                and secret.description == f"{CLIENT_SECRET_PREFIX}{self.owner}"
            ):
                self.client.revoke_client_secret(identity_id, secret.id)
                revoked.append(secret.id)
        return revoked

    def revoke_other_client_secrets(self, name: str, keep: str | None = None) -> list[str]:
        """Rotation: revoke every live client secret converge minted for ``name`` except
        ``keep`` (default: the one minted last in this run). Returns the revoked ids;
        secrets made by people (other descriptions) are left alone."""
        keep = keep or self.minted.get(name)
        identity_id = self.identity_id(name)
        revoked: list[str] = []
        for secret in self.client.list_client_secrets(identity_id):
            if (
                secret.id != keep
                and not secret.isClientSecretRevoked
                and secret.description == f"{CLIENT_SECRET_PREFIX}{self.owner}"
            ):
                self.client.revoke_client_secret(identity_id, secret.id)
                revoked.append(secret.id)
        return revoked


def _identity_of(ref: str) -> str | None:
    """``token-service@journal-prod`` from ``identity/token-service@journal-prod/client-secret``."""
    kind, _, rest = ref.partition("/")
    name, _, what = rest.rpartition("/")
    return name if kind == "identity" and what == "client-secret" and name else None
