"""Bounded waits for the tests that use threads: a test that would hang fails instead.

``PATIENCE`` is a deadline, never a measurement: only a stuck thread or a lost wake-up
reaches it, however slow and shared the machine is. Nothing here asserts how long
anything took. Threads the tests start should be daemons, so one left stuck after a
failure cannot keep the interpreter from exiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

import pytest

PATIENCE = 60.0
"""Seconds before a wait that should end soon is declared hung."""


def wait_for(event: threading.Event, what: str, timeout: float = PATIENCE) -> None:
    """Wait for ``event``; fail the test, naming ``what``, if it is not set in time."""
    if not event.wait(timeout):
        pytest.fail(f"hung: {what} (not within {timeout:g}s)")


def wait_until(condition: Callable[[], bool], what: str, timeout: float = PATIENCE) -> None:
    """Poll ``condition`` until it holds; fail the test, naming ``what``, if it never does."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"hung: {what} (not within {timeout:g}s)")
        pause.wait(0.001)  # yields to the threads that make ``condition`` true


def join_all(threads: Iterable[threading.Thread], timeout: float = PATIENCE) -> None:
    """Join every thread, all within one deadline; fail the test naming those still alive."""
    threads = list(threads)
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    alive = [thread.name for thread in threads if thread.is_alive()]
    if alive:
        pytest.fail(f"hung: threads {', '.join(alive)} still running after {timeout:g}s")


def barrier(parties: int, timeout: float = PATIENCE) -> threading.Barrier:
    """A barrier whose waits break (``BrokenBarrierError``) instead of hanging."""
    return threading.Barrier(parties, timeout=timeout)


def spawn(target: Callable[..., object], *args: object) -> threading.Thread:
    """A started daemon thread running ``target(*args)``."""
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread
