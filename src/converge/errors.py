"""The one exception tree of converge.

Every failure a user can meet is a ``ConvergeError``: it carries a one-sentence
``message`` (naming the file and line, or the vendor and request), an optional
``hint`` (what to do next) and the ``exit_code`` the CLI returns. Messages never
contain secret values; callers pass names and locations, never payloads.

    ConvergeError                      exit 1
    ├── ConfigError                    bad workspace input (file:line:col)
    │   └── ConfigErrors               several ConfigError at once (validation collects)
    ├── PolicyDenied                   the decision is deny
    ├── StaleArtifactError             decision/manifest does not match the inputs
    ├── VendorError                    a vendor answered with an error
    │   ├── VendorAuthError            exit 4: credentials missing or refused
    │   ├── VendorConflictError        an unmanaged object is in the way
    │   └── RateLimitedError           429 after retries
    ├── UnsafeRequestError             a value would change a request's path or list field
    ├── CredentialsMissing             exit 4: a credential converge needs is not set
    ├── LockHeldError                  exit 3: another run holds the project lock
    ├── JournalError                   the run journal cannot be read or written
    │   └── AuditLogTampered           (engine.audit_trail) the audit log lost its head
    ├── RunInterrupted                 exit 128+signal: a signal stopped a run between writes
    ├── SandboxError                   the local sandbox could not start or answer
    │   └── SandboxNotInstalled        converge[sandbox] is not installed here
    └── DashboardError                 the dashboard cannot be served (bind, token)
        └── DashboardNotInstalled      converge[dashboard] is not installed here

The exit codes a script can rely on (README, docs/json-output.md): 0 ok, 1 error,
2 changes or drift (nothing else), 3 a lock is held, 4 credentials missing or refused,
64 usage error (click's own errors, mapped by the CLI), 128+N a signal stopped a run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2  # plan found changes, drift found drift: never anything else
EXIT_LOCKED = 3
EXIT_CREDENTIALS = 4
EXIT_USAGE = 64  # EX_USAGE of sysexits.h


@dataclass(frozen=True, order=True)
class Location:
    """A place in a workspace file: path relative to the workspace, 1-based line and column."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column}"
        return self.file


class ConvergeError(Exception):
    """Root of every error converge reports to a user."""

    exit_code: int = 1
    default_hint: str = ""

    def __init__(self, message: str, *, hint: str = "", location: Location | None = None):
        self.message = message
        self.hint = hint or self.default_hint
        self.location = location
        super().__init__(self.render())

    def render(self) -> str:
        """The one line shown to the user: ``file:line:col: message``."""
        prefix = f"{self.location}: " if self.location else ""
        return f"{prefix}{self.message}"


class ConfigError(ConvergeError):
    """A workspace file is missing, unreadable or does not match its schema."""

    def __init__(
        self,
        message: str,
        *,
        hint: str = "",
        location: Location | None = None,
        rule: str = "schema",
    ):
        self.rule = rule
        super().__init__(message, hint=hint, location=location)


class ConfigErrors(ConvergeError):
    """Several configuration problems found in one pass (validation collects them all)."""

    def __init__(self, errors: Iterable[ConfigError]):
        self.errors = sorted(errors, key=lambda e: (e.location or Location(""), e.message))
        first = self.errors[0].render() if self.errors else "invalid workspace"
        more = len(self.errors) - 1
        suffix = f" (and {more} more)" if more > 0 else ""
        super().__init__(first + suffix)


class PolicyDenied(ConvergeError):
    """The policies deny the project; the decision contract records why."""


class StaleArtifactError(ConvergeError):
    """A decision or artifact no longer matches what it was derived from."""


class VendorError(ConvergeError):
    """A vendor API answered with an error that retrying will not fix."""

    def __init__(
        self, message: str, *, vendor: str, request: str = "", status: int = 0, hint: str = ""
    ):
        self.vendor = vendor
        self.request = request
        self.status = status
        super().__init__(message, hint=hint)


class VendorAuthError(VendorError):
    """The credentials are missing, unusable or refused by the vendor; the message names
    the variable (or file) to fix."""

    exit_code = EXIT_CREDENTIALS


class VendorConflictError(VendorError):
    """An object converge does not manage is in the way."""


class RateLimitedError(VendorError):
    """The vendor kept answering 429 after every retry."""


class UnsafeRequestError(ConvergeError):
    """A value would change where a request goes or how a list field splits; refused
    before anything is sent (input validation should have caught it first)."""


class CredentialsMissing(ConvergeError):
    """A credential converge needs is not configured (found before any request), e.g.
    ``CONVERGE_FINGERPRINT_KEY`` on a CI runner."""

    exit_code = 4


class LockHeldError(ConvergeError):
    """Another run holds this project's lock."""

    exit_code = EXIT_LOCKED


class JournalError(ConvergeError):
    """The run journal could not be read or written."""


class SandboxError(ConvergeError):
    """The local sandbox could not be started or did not answer."""


class SandboxNotInstalled(SandboxError):
    """The sandbox package or one of its dependencies is missing from this environment.

    The emulators ship as the extra ``converge[sandbox]``, so a live install stays free of
    starlette, uvicorn and PostgreSQL binaries; this says how to add them.
    """

    def __init__(self, missing: str):
        self.missing = missing
        super().__init__(
            f"the sandbox is not installed in this environment (no module {missing!r}); "
            "install it with: pip install 'converge[sandbox]'"
        )


class DashboardError(ConvergeError):
    """The dashboard cannot be served: the address is taken, or a token is missing."""


class DashboardNotInstalled(DashboardError):
    """The web libraries of the dashboard (the extra ``converge[dashboard]``) are absent.

    A plain install stays free of starlette, Jinja2 and uvicorn; this says how to add
    them."""

    def __init__(self, missing: str):
        self.missing = missing
        super().__init__(
            f"the dashboard is not installed in this environment (no module {missing!r}); "
            "install it with: pip install 'converge[dashboard]'"
        )


class RunInterrupted(ConvergeError):
    """A signal (SIGTERM, SIGINT) asked the command to stop, and a run stopped before its
    next write: journaled and logged as interrupted, resumed by running it again. The
    exit code is the shell's for that signal (130 for SIGINT, 143 for SIGTERM)."""

    def __init__(self, message: str, *, signal_number: int, hint: str = "") -> None:
        self.exit_code = 128 + signal_number
        super().__init__(message, hint=hint)
