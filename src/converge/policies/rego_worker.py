"""The child process that runs user Rego policies (``python -m``-style entry: ``main``).

Why a child process: regopy's allocator reserves tens of GB of address space when the
module is imported (it aborts the whole process under ``ulimit -v``), and a policy can loop
for as long as it likes; in a child, the parent can time a query out and kill it, report
an abort as one sentence, and never load regopy at all when there is no user policy.

Protocol: one JSON object per line on stdin, one answer per line on stdout.
- first, unasked: ``{"ready": true}`` once regopy is imported;
- ``{"op": "load", "modules": [[name, source], ...], "entrypoints": ["pkg/deny", ...]}``
  adds every module and builds one bundle (compiled once for the whole command):
  ``{"ok": true}`` or ``{"ok": false, "module": name | null, "error": text}``;
- ``{"op": "input", "input": {...}}`` sets the input document: ``{"ok": true}`` or an error;
- ``{"op": "query", "entrypoint": "pkg/deny"}``: ``{"ok": bool, "text": answer}`` with the
  interpreter's raw answer (a JSON document, ``undefined`` or an ``(error …)`` tree).

Only the standard library and regopy are imported here: nothing from the workspace.
"""

from __future__ import annotations

import json
import sys
from typing import Any, BinaryIO


def _send(stream: BinaryIO, message: dict[str, Any]) -> None:
    stream.write(json.dumps(message).encode("utf-8") + b"\n")
    stream.flush()


def main() -> None:
    """Serve requests until stdin closes."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    from regopy import Interpreter, LogLevel, RegoError  # may abort: see the module doc
    from regopy.rego_shared import (
        rego_bundle_query_entrypoint,
        rego_free_output,
        rego_output_ok,
        rego_output_string,
    )

    interpreter: Any = None
    bundle: Any = None
    _send(stdout, {"ready": True})
    for line in stdin:
        request = json.loads(line)
        op = request.get("op")
        if op == "load":
            interpreter = Interpreter()
            interpreter.log_level = LogLevel.NONE  # errors come back to the parent, not stderr
            bundle = None
            answer: dict[str, Any] = {"ok": True}
            for name, source in request["modules"]:
                try:
                    interpreter.add_module(name, source)
                except RegoError as exc:
                    answer = {"ok": False, "module": name, "error": str(exc)}
                    break
            if answer["ok"]:
                try:
                    bundle = interpreter.build(None, list(request["entrypoints"]))
                except RegoError as exc:
                    answer = {"ok": False, "module": None, "error": str(exc)}
            _send(stdout, answer)
        elif op == "input":
            try:
                interpreter.set_input(request["input"])
                _send(stdout, {"ok": True})
            except RegoError as exc:
                _send(stdout, {"ok": False, "error": str(exc)})
        elif op == "query":
            impl = rego_bundle_query_entrypoint(interpreter._impl, bundle._impl,
                                                request["entrypoint"])
            try:
                ok, text = bool(rego_output_ok(impl)), str(rego_output_string(impl))
            finally:
                rego_free_output(impl)
            _send(stdout, {"ok": ok, "text": text})
        else:
            _send(stdout, {"ok": False, "error": f"unknown request {op!r}"})


if __name__ == "__main__":
    main()
