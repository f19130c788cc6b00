"""A readiness gate: requests to an emulator wait until its seed has run.

Seeding Supabase creates databases and runs SQL on PostgreSQL, which can take a second or
two on a fresh state directory. The servers start accepting at once and each vendor's
requests wait at the gate (without blocking the event loop) until that vendor is seeded,
so the sandbox is ready in well under the 3 s the CLI promises and no client ever sees a
half-seeded world.
"""

from __future__ import annotations

import asyncio
import threading


class ReadyGate:
    """Opened once, by the thread that seeds; awaited by request handlers."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.error: BaseException | None = None

    @property
    def is_open(self) -> bool:
        return self._event.is_set()

    def open(self, error: BaseException | None = None) -> None:
        """Let requests through; with ``error``, the vendor failed to seed."""
        self.error = error
        self._event.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)

    async def wait_async(self, poll: float = 0.005) -> None:
        while not self._event.is_set():
            await asyncio.sleep(poll)
