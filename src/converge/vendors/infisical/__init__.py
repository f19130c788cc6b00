"""Infisical reconciler: project roles, machine identities with universal auth, and their
project memberships (architecture §6), plus the reference resolver other vendors use.

Change ``kind`` values (``Change.key`` is ``infisical/<kind>/<name>``):

- ``role``: a custom project role; ``name`` is its slug (``runtime-prod``), ``label`` the
  brief's ``runtime (prod)``. Stage 0.
- ``identity``: an org machine identity with its universal-auth settings; ``name`` is the
  full name (``token-service@journal-prod``), label ``token-service@journal-prod (prod)``.
  Stage 1.
- ``binding``: one role held by an identity in the project's identity membership;
  ``name``/``label`` ``token-service-runtime-binding``, ``detail``
  ``Identity: token-service@journal-prod -> Role: runtime``. Stage 2.

Modules: ``client`` (credentials, paced HTTP calls), ``wire`` (API payloads),
``normalise`` (translation and normal forms), ``observe`` (list calls), ``observed``
(the observed-state records), ``diff`` (pure), ``apply`` (one change), ``reconciler``
(the ``SystemReconciler``), ``resolver`` (the ``ReferenceResolver``).
"""

from converge.vendors.infisical.client import InfisicalClient, load_credentials
from converge.vendors.infisical.reconciler import InfisicalReconciler
from converge.vendors.infisical.resolver import InfisicalResolver

__all__ = ["InfisicalClient", "InfisicalReconciler", "InfisicalResolver", "load_credentials"]
