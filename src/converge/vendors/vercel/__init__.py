"""Vercel: a project's environment variables, reconciled (architecture §6).

Change kinds this package produces (``Change.system == "vercel"``):

``env``
    One Vercel env-var record: one key on one set of targets (``production``,
    ``preview``, ``development``). ``Change.name`` is ``KEY@target+target``
    (``NEXT_PUBLIC_APP_NAME@development+preview+production``), ``label`` is
    ``NEXT_PUBLIC_API_URL (production)`` for public records and the bare key
    (``INFISICAL_CLIENT_ID``) for server ones, whose ``detail`` names the reference.

Modules: ``client`` (typed endpoints over ``VendorHttp``, team scoping, per-action rate
budgets), ``wire`` (payload models), ``ownership`` (comment marker, keyed fingerprints),
``observe`` (one list call), ``diff`` (pure), ``apply`` (batched writes, two-phase
deletes), ``reconciler`` (``VercelReconciler``), ``publisher`` (``VercelPublisher`` for
values another system publishes to Vercel).
"""

from converge.vendors.base import Note
from converge.vendors.vercel.client import ProjectScope, VercelClient
from converge.vendors.vercel.diff import KIND, SYSTEM
from converge.vendors.vercel.publisher import VercelPublisher
from converge.vendors.vercel.reconciler import VercelReconciler

__all__ = [
    "KIND",
    "SYSTEM",
    "Note",
    "ProjectScope",
    "VercelClient",
    "VercelPublisher",
    "VercelReconciler",
]
