"""Run the evaluator's pure-Python modules where the compiled core is built.

With ``CHARTER_PURE_PYTHON=1`` in the environment, ``bench/__init__.py`` calls
``install`` before anything imports Charter: every ``charter.policy`` module is then
loaded from its ``.py`` source, even when ``setup.py`` built an extension beside it.
The bench uses it to time both side by side (``python -m bench.policy``); Charter
itself never reads the variable.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

__all__ = ["PACKAGE", "VARIABLE", "install"]

VARIABLE = "CHARTER_PURE_PYTHON"
PACKAGE = "charter.policy."


class _Sources(MetaPathFinder):
    """Finds ``charter.policy`` modules as their ``.py`` files, ahead of the usual finders."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if not fullname.startswith(PACKAGE) or path is None:
            return None
        name = fullname.rpartition(".")[2]
        for entry in path:
            source = Path(entry) / f"{name}.py"
            if source.is_file():
                return importlib.util.spec_from_file_location(fullname, source)
        return None


def install() -> None:
    """Load ``charter.policy`` modules from source from now on (call before importing it)."""
    loaded = [name for name in sys.modules if name.startswith(PACKAGE)]
    if loaded:
        raise RuntimeError(f"too late to run the pure-Python core: {loaded[0]} is loaded")
    if not any(isinstance(finder, _Sources) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Sources())
