"""The files of ``.out/<p>/`` as one set of models: what render writes, what the engine
reads, and (through config/schemas.py) the JSON Schema of each kind (architecture §3).

This package sits below config in the import layers: it depends on pydantic and
util/canonical only, so render, policies, desired and the schema writer all share it.
"""

from __future__ import annotations

from converge.artifacts.contract import DecisionContract, Manifest
from converge.artifacts.infisical import IdentityBinding, MachineIdentity, ProjectRole
from converge.artifacts.platforms import SupabaseConfig, VercelEnvironment
from converge.artifacts.wire import Wire

# Schema name -> (model, where the file lives). The file patterns use ``<…>`` for the parts
# that vary, as the input kinds in config/schemas.py do.
ARTIFACT_KINDS: dict[str, tuple[type[Wire], str]] = {
    "artifact-project-role": (ProjectRole, ".out/<p>/ProjectRole_<role>_<env>.yaml"),
    "artifact-machine-identity": (MachineIdentity, ".out/<p>/identity_<name>.yaml"),
    "artifact-identity-binding": (IdentityBinding, ".out/<p>/binding_<name>.yaml"),
    "artifact-vercel-env": (VercelEnvironment, ".out/<p>/vercel-env.json"),
    "artifact-supabase-config": (SupabaseConfig, ".out/<p>/supabase-config.json"),
    "manifest": (Manifest, ".out/<p>/manifest.json"),
    "decision": (DecisionContract, ".out/<p>/decision.json"),
}
