"""``ReferenceResolver`` over Infisical, for the other vendors' server variables.

References (architecture §2) and what they resolve to, at apply time only:

- ``identity/<full-name>/client-id``: the identity's universal-auth ``clientId``;
- ``identity/<full-name>/client-secret`` with ``mint=True``: a new universal-auth client
  secret, described ``converge <org>/<project> mint=<nonce>`` (``mint=False`` is an error:
  Infisical never shows an existing secret again);
- ``secret/<env>/<path…>/<NAME>``: the value of secret ``NAME`` at ``/<path…>`` in the
  Infisical environment that converge environment ``env`` maps to (``project.yaml``'s
  ``environments.<env>.infisical``, passed in as ``environments``).

Values go straight back to the caller: never logged, never put in an exception.

Minting (issue 8): the description carries a unique mint nonce, journaled through the
``CredentialLedger`` before the create. When the create's answer is lost, the secret is
found by that nonce, revoked (its value is gone for good, so it is useless) and minted
again with a new nonce: a lost answer never leaves a live secret behind. A secret whose
holder got a new one is ``release``d: a pending revocation the engine performs when due.
As a ``CredentialIssuer`` the resolver lists identities' client secrets (telling the ones
this converge project minted by their description) and revokes them.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Mapping

from converge.errors import ConvergeError, VendorError
from converge.vendors.base import CredentialLedger, CredentialRef, IssuedCredential
from converge.vendors.infisical import wire
from converge.vendors.infisical.client import InfisicalClient, MintLost

CLIENT_SECRET_PREFIX = "converge "
NONCE_FIELD = " mint="
SYSTEM = "infisical"
CLIENT_SECRET = "client-secret"
MINT_ATTEMPTS = 3  # creations whose answer is lost in a row before giving up


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
        self.ledger: CredentialLedger | None = None  # the apply run's journal, if any

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

    # -- minting ----------------------------------------------------------------------

    @property
    def _description(self) -> str:
        return f"{CLIENT_SECRET_PREFIX}{self.owner}"

    def minted_here(self, secret: wire.ClientSecret) -> bool:
        """Did this converge project mint ``secret``? (Its description says so; secrets
        minted before nonces existed carry the bare ``converge <org>/<project>``.)"""
        text = secret.description
        return text == self._description or text.startswith(self._description + NONCE_FIELD)

    @staticmethod
    def nonce_of(secret: wire.ClientSecret) -> str | None:
        _, found, nonce = secret.description.partition(NONCE_FIELD)
        if not found or not nonce.strip():
            return None
        return nonce.strip()

    def _ref(self, name: str, identity_id: str, secret_id: str) -> CredentialRef:
        return CredentialRef(SYSTEM, CLIENT_SECRET, identity_id, name, secret_id)

    def mint_client_secret(self, name: str) -> str:
        """A new client secret for identity ``name`` (see the module docstring)."""
        identity_id = self.identity_id(name)
        for _ in range(MINT_ATTEMPTS):
            if self.ledger is not None:
                nonce = self.ledger.mint_started(system=SYSTEM, kind=CLIENT_SECRET,
                                                 parent_id=identity_id, parent_name=name)
            else:
                nonce = f"local-{secrets.token_hex(8)}"
            try:
                value, record = self.client.create_client_secret(
                    identity_id, description=f"{self._description}{NONCE_FIELD}{nonce}",
                    unique=True,
                )
            except MintLost as lost:
                self._revoke_lost(self._ref(name, identity_id, lost.secret.id), nonce)
                continue
            if self.ledger is not None:
                self.ledger.mint_answered(nonce, record.id)
            self.minted[name] = record.id
            return value
        raise VendorError(
            f"infisical lost the answer to {MINT_ATTEMPTS} client-secret creations for "
            f"{name} in a row (each secret was found and revoked)",
            vendor=SYSTEM,
            request=f"POST /api/v1/auth/universal-auth/identities/{identity_id}/client-secrets",
            hint="the connection to Infisical is unreliable; rerun apply to resume",
        )

    def _revoke_lost(self, ref: CredentialRef, nonce: str) -> None:
        if self.ledger is not None:
            self.ledger.revocation_due(ref, reason="its mint answer was lost", nonce=nonce)
        self.revoke(ref)
        if self.ledger is not None:
            self.ledger.revoked(ref)

    def minted_id(self, ref: str) -> str | None:
        """The id of the client secret last minted for ``identity/<name>/client-secret``."""
        name = _identity_of(ref)
        return self.minted.get(name) if name else None

    def release(self, ref: str, credential_id: str, *, reason: str) -> None:
        """Schedule the revocation of ``ref``'s client secret ``credential_id`` (it was
        replaced or its holder is gone); the engine performs it when it is due. Without a
        ledger (no journal) nothing is scheduled: the next apply's sweep revokes it."""
        name = _identity_of(ref)
        if name is None or not credential_id or self.ledger is None:
            return
        self.ledger.revocation_due(self._ref(name, self.identity_id(name), credential_id),
                                   reason=reason)

    # -- CredentialIssuer -----------------------------------------------------------------

    def issued(self, parents: Collection[str]) -> list[IssuedCredential]:
        """Every client secret of the identities named in ``parents`` that exist."""
        found: list[IssuedCredential] = []
        for name in sorted(set(parents)):
            try:
                identity_id = self.identity_id(name)
            except ConvergeError:
                continue
            for secret in self.client.list_client_secrets(identity_id):
                found.append(IssuedCredential(
                    ref=self._ref(name, identity_id, secret.id),
                    minted_here=self.minted_here(secret),
                    nonce=self.nonce_of(secret) if self.minted_here(secret) else None,
                    revoked=secret.isClientSecretRevoked,
                ))
        return found

    def revoke(self, credential: CredentialRef) -> None:
        self.client.revoke_client_secret(credential.parent_id, credential.credential_id)


def identity_of_client_secret(ref: str) -> str | None:
    """The identity whose client secret ``ref`` names, or None for any other reference."""
    return _identity_of(ref)


def _identity_of(ref: str) -> str | None:
    """``token-service@journal-prod`` from ``identity/token-service@journal-prod/client-secret``."""
    kind, _, rest = ref.partition("/")
    name, _, what = rest.rpartition("/")
    return name if kind == "identity" and what == "client-secret" and name else None
