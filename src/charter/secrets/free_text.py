"""What arrives checked against the leaked-secret registry too, where a server put it in scope.

What people and agents write (a purpose, a reason, a note, a policy file), the names they
give and the ids they send are checked for secrets as they arrive, before they are
stored, audited or logged. The detectors need nothing; a registered leak (a password, a
key no detector recognises) needs the server's registry and key. A server puts its
registry in scope for each request it handles (``leak_registry``): ``masked`` and
``found`` then find both. Outside one (the SDK, a test of the wire models alone, the
CLI validating a file) they find what the detectors find.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from charter.codes import ErrorCode
from charter.errors import Unavailable
from charter.secrets import redact
from charter.secrets.findings import Finding, LeakSet
from charter.secrets.scan import Scanner

__all__ = ["Registry", "clean", "found", "leak_registry", "masked"]


@dataclass(frozen=True, slots=True)
class Registry:
    """A server's keyed scanner and its registry's view as held in memory (None: not
    read yet). Reading the view never waits on the store: texts are checked on the
    event loop."""

    scanner: Scanner
    held: Callable[[], LeakSet | None]

    def leaks(self) -> LeakSet:
        """The view, or ``Unavailable`` when the store could not be read yet: what
        cannot be checked is not kept (the server reads it again every second)."""
        view = self.held()
        if view is None:
            raise Unavailable(
                "the leaked-secret registry has not been read from the store yet",
                code=ErrorCode.STORE_UNAVAILABLE,
                help="retry shortly; the server's log says why",
            )
        return view


_IN_SCOPE: ContextVar[Registry | None] = ContextVar("charter_leak_registry", default=None)
_DETECTORS = Scanner()


def masked(text: str) -> str:
    """``text`` with every secret in it replaced by ``[REDACTED:<type>]``: what the
    detectors find and, where a registry is in scope, every registered leak."""
    registry = _IN_SCOPE.get()
    if registry is None:
        return redact(text)
    shown: str = registry.scanner.mask(text, leaks=registry.leaks())[0]
    return shown


def found(text: str) -> list[Finding]:
    """Every secret in ``text``: what the detectors find and, where a registry is in
    scope, every registered leak."""
    registry = _IN_SCOPE.get()
    if registry is None:
        return _DETECTORS.scan(text)
    return registry.scanner.scan(text, leaks=registry.leaks())


def clean(text: str) -> bool:
    """Whether ``text`` holds no secret, as far as can be told now (False when the
    registry in scope has not been read yet)."""
    try:
        return masked(text) == text
    except Unavailable:
        return False


@contextmanager
def leak_registry(registry: Registry) -> Iterator[None]:
    """Within the block (and the tasks and threads it starts), ``masked`` and ``found``
    check against ``registry`` too."""
    token = _IN_SCOPE.set(registry)
    try:
        yield
    finally:
        _IN_SCOPE.reset(token)
