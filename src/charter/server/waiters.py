"""Long-poll waiters: requests waiting on an approval, woken the moment it changes.

``wake`` is called from any thread (the service layer runs in the thread pool) once a
change is committed; each waiter's event is set on its own event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

__all__ = ["Waiters"]


class Waiters:
    """Events by key (an approval id), set from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}

    async def wait(self, key: str, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for ``wake(key)``; True if woken."""
        entry = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._waiting.setdefault(key, set()).add(entry)
        try:
            async with asyncio.timeout(timeout):
                await entry[1].wait()
            return True
        except TimeoutError:
            return False
        finally:
            with self._lock:
                waiting = self._waiting.get(key)
                if waiting is not None:
                    waiting.discard(entry)
                    if not waiting:
                        del self._waiting[key]

    def wake(self, key: str) -> None:
        """Wake everyone waiting on ``key``."""
        with self._lock:
            entries = list(self._waiting.get(key, ()))
        for loop, event in entries:
            with contextlib.suppress(RuntimeError):  # that loop has closed
                loop.call_soon_threadsafe(event.set)
