"""The parent side of the Rego worker: start it, compile once, query with a time limit.

Why: see ``rego_worker``. One worker serves a whole command: the policies are compiled
into one bundle when the first project is decided, and each further project only sets
its input document and queries the bundle's entry points (about 50 µs a query, against
about 2 ms to compile a policy). A worker is started again only when the policies change
(or the worker died, or the process forked). Each answer must come within the time limit
(``policy_timeout_seconds`` in converge.yaml, default 10 s); otherwise the worker is killed
and the caller gets an error naming the policy and rule that did not finish. A worker that
cannot start because ``ulimit -v`` is below what regopy reserves is reported in one
sentence, without regopy's own abort message.

The worker runs with ``python -I`` from ``/``: the workspace (a pull request's files) is
never on its import path.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import resource
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from converge.errors import ConfigError, ConvergeError, Location

DEFAULT_TIMEOUT = 10.0
STARTUP_SECONDS = 60.0  # importing regopy and compiling: not counted against the limit
STATS: dict[str, int] = {"starts": 0, "compiles": 0, "inputs": 0, "queries": 0}
_MAX_LINE = 256 * 1024 * 1024


@dataclass(frozen=True)
class Module:
    """One policy file as the worker compiles it."""

    name: str
    source: str


class WorkerStopped(Exception):
    """The worker exited or closed its output; ``returncode`` says how, if it exited."""

    def __init__(self, returncode: int | None):
        super().__init__(f"worker stopped ({returncode})")
        self.returncode = returncode


class WorkerTimeout(Exception):
    """No answer within the time limit (the worker has been killed)."""


@dataclass
class RegoEngine:
    """One worker process holding one compiled set of policies."""

    key: str
    process: subprocess.Popen[bytes]
    pid: int = field(default_factory=os.getpid)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _buffer: bytes = b""

    @classmethod
    def start(cls, modules: Sequence[Module], entrypoints: Sequence[str], *,
              policies_dir: str) -> RegoEngine:
        """Start a worker and compile ``modules``; raise ConvergeError if it cannot start,
        or ``RegoLoadError`` with the interpreter's message if a module does not compile."""
        # stderr is dropped: the worker reports through its answers, and regopy's own abort
        # message ("Failed to initialise snmalloc") is replaced by one sentence here.
        process = subprocess.Popen(
            [sys.executable, "-I", "-c", _bootstrap()],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd="/",
        )
        STATS["starts"] += 1
        engine = cls(key=_key(modules, entrypoints), process=process)
        try:
            engine._receive(STARTUP_SECONDS)  # {"ready": true}
            answer = engine.request({"op": "load", "entrypoints": list(entrypoints),
                                     "modules": [[m.name, m.source] for m in modules]},
                                    timeout=STARTUP_SECONDS)
        except WorkerStopped as exc:
            engine.close()
            raise _could_not_start(exc.returncode, policies_dir) from None
        except WorkerTimeout:
            engine.close()
            raise ConvergeError(
                f"the Rego engine did not start within {STARTUP_SECONDS:.0f} s",
                hint=f"check the policies in {policies_dir}/ (or remove them) and retry",
            ) from None
        if not answer.get("ok"):
            engine.close()
            raise RegoLoadError(str(answer.get("error", "")), answer.get("module"))
        STATS["compiles"] += 1
        return engine

    def set_input(self, document: Any, *, timeout: float) -> dict[str, Any]:
        STATS["inputs"] += 1
        return self.request({"op": "input", "input": document}, timeout=timeout)

    def query(self, entrypoint: str, *, timeout: float) -> tuple[bool, str]:
        """The interpreter's raw answer for one entry point (``pkg/deny``)."""
        STATS["queries"] += 1
        answer = self.request({"op": "query", "entrypoint": entrypoint}, timeout=timeout)
        return bool(answer.get("ok")), str(answer.get("text", ""))

    def alive(self) -> bool:
        return self.pid == os.getpid() and self.process.poll() is None

    def request(self, message: dict[str, Any], *, timeout: float) -> dict[str, Any]:
        """Send one request and wait at most ``timeout`` seconds for its answer."""
        with self.lock:
            assert self.process.stdin is not None
            try:
                self.process.stdin.write(json.dumps(message).encode("utf-8") + b"\n")
                self.process.stdin.flush()
            except (BrokenPipeError, OSError):
                self._reap()
                raise WorkerStopped(self.process.returncode) from None
            return self._receive(timeout)

    def _receive(self, timeout: float) -> dict[str, Any]:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    self.kill()
                    raise WorkerTimeout
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    self._reap()
                    raise WorkerStopped(self.process.returncode)
                self._buffer += chunk
                if len(self._buffer) > _MAX_LINE:
                    self.kill()
                    raise WorkerStopped(None)
        line, _, self._buffer = self._buffer.partition(b"\n")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def _reap(self) -> None:
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """Stop the worker now (a query overran its time limit, or a test asks)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def close(self) -> None:
        """Let the worker finish (stdin closed), killing it if it does not."""
        if self.pid != os.getpid():
            return  # a forked child: the worker belongs to the parent
        if self.process.stdin is not None and not self.process.stdin.closed:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.kill()
        if self.process.stdout is not None:
            self.process.stdout.close()


class RegoLoadError(Exception):
    """A module does not compile: the interpreter's text and the module it names."""

    def __init__(self, text: str, module: str | None):
        super().__init__(text)
        self.text = text
        self.module = module


_CURRENT: RegoEngine | None = None
_CURRENT_LOCK = threading.Lock()


def engine_for(modules: Sequence[Module], entrypoints: Sequence[str], *,
               policies_dir: str) -> RegoEngine:
    """The running worker for exactly these policies, started (and compiled) if needed."""
    global _CURRENT
    key = _key(modules, entrypoints)
    with _CURRENT_LOCK:
        if _CURRENT is not None and _CURRENT.key == key and _CURRENT.alive():
            return _CURRENT
        if _CURRENT is not None:
            _CURRENT.close()
            _CURRENT = None
        _CURRENT = RegoEngine.start(modules, entrypoints, policies_dir=policies_dir)
        return _CURRENT


def current() -> RegoEngine | None:
    """The worker of this process, if one runs (tests look at it)."""
    return _CURRENT if _CURRENT is not None and _CURRENT.pid == os.getpid() else None


def shutdown() -> None:
    """Stop this process's worker (also registered to run at exit)."""
    global _CURRENT
    with _CURRENT_LOCK:
        if _CURRENT is not None:
            _CURRENT.close()
            _CURRENT = None


atexit.register(shutdown)


def timed_out(seconds: float, query: str, where: Location) -> ConfigError:
    return ConfigError(
        f"Rego evaluation of {query} did not finish within {seconds:g} s",
        location=where,
        hint="a rule may loop over a huge range; fix it, or raise policy_timeout_seconds "
        "in converge.yaml",
    )


def stopped(returncode: int | None, query: str, where: Location) -> ConfigError:
    how = _how(returncode)
    return ConfigError(f"the Rego engine stopped ({how}) while evaluating {query}",
                       location=where, hint="the policy may use more memory than is allowed")


def _could_not_start(returncode: int | None, policies_dir: str) -> ConvergeError:
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    if returncode == -signal.SIGABRT and limit != resource.RLIM_INFINITY:
        return ConvergeError(
            "the Rego engine could not start: it needs more virtual memory than `ulimit -v` "
            f"allows ({limit / 1e9:.1f} GB); raise the limit or remove {policies_dir}/",
            hint="regopy reserves its address space up front; about 300 GB (ulimit -v "
            "300000000) is enough",
        )
    return ConvergeError(
        f"the Rego engine could not start ({_how(returncode)})",
        hint=f"check that regopy is installed, or remove {policies_dir}/",
    )


def _how(returncode: int | None) -> str:
    if returncode is None:
        return "no answer"
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"


def _key(modules: Sequence[Module], entrypoints: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for module in modules:
        digest.update(module.name.encode() + b"\0" + module.source.encode() + b"\0")
    digest.update("\0".join(entrypoints).encode())
    return digest.hexdigest()


def _bootstrap() -> str:
    """The worker's ``-c`` program: this process's import path without the current
    folder (``-I`` already drops it, and PYTHONPATH), then ``rego_worker.main``."""
    here = Path.cwd().resolve()
    paths = [p for p in sys.path if p and Path(p).is_absolute() and Path(p).resolve() != here]
    return (
        f"import sys; sys.path[:0] = [p for p in {paths!r} if p not in sys.path]; "
        "from converge.policies.rego_worker import main; main()"
    )
