"""Free text masked against the leaked-secret registry too, where a server put it in scope.

What people and agents write (a purpose, a reason, a note), the names they give and the
ids they send are checked for secrets as they arrive, before they are stored, audited or
logged. The detectors need nothing; a registered leak (a password, a key no detector
recognises) needs the server's registry and key. A server puts its registry in scope for
each request it handles (``leak_registry``): ``masked`` then finds both. Outside one
(the SDK, a test of the wire models alone) it finds what the detectors find.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from charter.secrets import redact

__all__ = ["leak_registry", "masked"]

Masker = Callable[[str], str]
"""A text with every secret the detectors find and every registered leak masked."""

_IN_SCOPE: ContextVar[Masker | None] = ContextVar("charter_leak_registry", default=None)


def masked(text: str) -> str:
    """``text`` with every secret in it replaced by ``[REDACTED:<type>]``: what the
    detectors find and, where a registry is in scope, every registered leak."""
    masker = _IN_SCOPE.get()
    return redact(text) if masker is None else masker(text)


@contextmanager
def leak_registry(masker: Masker) -> Iterator[None]:
    """Within the block (and the tasks and threads it starts), ``masked`` is ``masker``."""
    token = _IN_SCOPE.set(masker)
    try:
        yield
    finally:
        _IN_SCOPE.reset(token)
