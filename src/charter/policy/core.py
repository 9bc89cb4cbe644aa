"""Which evaluator runs: the optional compiled core, or the pure-Python modules.

``setup.py`` compiles the modules of ``CORE_MODULES`` with Cython when a compiler is
at hand, each into an extension beside its ``.py`` file, which Python then imports in
its place. The ``.py`` files stay the source of both: the same code, the same answers.
What is in use is read from the modules themselves, never from the environment (the
benchmark forces the pure-Python modules on its side, ``bench/purepython.py``).
"""

from __future__ import annotations

import importlib
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

__all__ = ["CORE_MODULES", "compiled_core", "compiled_modules", "is_stale", "stale_modules"]

CORE_MODULES = (
    "charter.policy.canonical",
    "charter.policy.cel",
    "charter.policy.celfast",
    "charter.policy.compiled",
    "charter.policy.compiler",
    "charter.policy.decision",
    "charter.policy.evaluate",
    "charter.policy.frozen",
    "charter.policy.globs",
)
"""The modules ``setup.py`` compiles (a test checks the two lists agree)."""


def compiled_modules() -> tuple[str, ...]:
    """Those of ``CORE_MODULES`` loaded from a compiled extension."""
    found = []
    for name in CORE_MODULES:
        path = getattr(importlib.import_module(name), "__file__", None) or ""
        if path.endswith(tuple(EXTENSION_SUFFIXES)):
            found.append(name)
    return tuple(found)


def compiled_core() -> bool:
    """True when every module of the core runs compiled."""
    return len(compiled_modules()) == len(CORE_MODULES)


_SLACK_SECONDS = 5.0
"""How much newer than its extension a source may be and still count as what was built
(an install writes the two a moment apart)."""


def stale_modules() -> tuple[str, ...]:
    """Compiled modules whose ``.py`` beside them is newer than the extension: edited (or
    checked out) after the build, so what runs is not what the source says. ``charter
    serve`` refuses to start with any (rebuild: ``make``, or ``pip install -e .``)."""
    return tuple(
        name
        for name in compiled_modules()
        if is_stale(Path(importlib.import_module(name).__file__ or ""))
    )


def is_stale(built: Path) -> bool:
    """Whether the ``.py`` beside the extension ``built`` is newer than it (False when
    there is none: an install without sources has nothing to compare)."""
    source = built.with_name(built.name.split(".", 1)[0] + ".py")
    try:
        return source.stat().st_mtime > built.stat().st_mtime + _SLACK_SECONDS
    except OSError:
        return False
