"""Is a process still there? Used by locks, the journal, the sandbox registry and the
PostgreSQL manager to tell a live holder from a dead one.

A process that exited but was not reaped yet (a zombie) still answers ``kill(pid, 0)``, and
a recycled pid can belong to someone else: ``/proc/<pid>/stat`` settles both on Linux.
"""

from __future__ import annotations

import os
from pathlib import Path


def _stat_fields(pid: int) -> list[str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()  # the command name may hold spaces and ')'


def process_start_marker(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), to detect pid reuse."""
    fields = _stat_fields(pid)
    return fields[19] if fields and len(fields) > 19 else None


def pid_alive(pid: int, start_marker: str | None = None) -> bool:
    """True when ``pid`` is a live (not zombie) process on this host — and, given
    ``start_marker``, the same process that was recorded (not a reused pid)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else
    fields = _stat_fields(pid)
    if fields is None:
        return True  # no /proc (not Linux): trust kill()
    if fields and fields[0] in ("Z", "X"):
        return False
    return not (start_marker and len(fields) > 19 and fields[19] != start_marker)
