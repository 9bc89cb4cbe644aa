"""Benchmarks: run with `make bench`; results go to docs/benchmarks.md."""

import os as _os
import sys as _sys

if _os.environ.get("CHARTER_PURE_PYTHON") == "1" and "charter.policy" not in _sys.modules:
    # Before any benchmark imports Charter: time the evaluator's pure-Python modules even
    # where the compiled core is built (bench/purepython.py). The bench prints which
    # core ran (`charter.policy.compiled_core()`).
    from bench import purepython as _purepython

    _purepython.install()
