"""``converge init``: a new workspace, ready for a first commit and for CI.

The files are package data (``templates/``), filled in with ``string.Template`` under an
``@@`` delimiter, so the ``$`` of Makefiles, shell and GitHub expressions stays as written.
"""

from converge.scaffold.workspace import (
    InitResult,
    WrittenFile,
    default_pip_spec,
    init_workspace,
    next_steps,
)

__all__ = ["InitResult", "WrittenFile", "default_pip_spec", "init_workspace", "next_steps"]
