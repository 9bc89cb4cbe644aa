"""Benchmarks: run with `make bench`; results go to docs/benchmarks.md."""

import os as _os

if _os.environ.get("CHARTER_PURE_PYTHON") == "1":
    # Before any benchmark imports Charter: time the evaluator's pure-Python modules even
    # where the compiled core is built (bench/purepython.py).
    from bench import purepython as _purepython

    _purepython.install()
