"""Build the optional compiled core: the evaluator's hot modules through Cython.

The ``.py`` files are the source of truth and run as they are without a compiler; when
Cython and a C compiler are at hand, ``pip install`` (or ``python setup.py build_ext
--inplace``) also builds each module below as an extension beside it, which Python then
imports in its place. A failed build leaves the pure-Python modules in use.
"""

from __future__ import annotations

from setuptools import setup

CORE = [
    "charter.policy.canonical",
    "charter.policy.celfast",
    "charter.policy.cel",
    "charter.policy.compiled",
    "charter.policy.compiler",
    "charter.policy.decision",
    "charter.policy.evaluate",
    "charter.policy.frozen",
    "charter.policy.globs",
]
"""The modules compiled, by name (each ``src/<name with slashes>.py``)."""

DIRECTIVES = {
    "language_level": 3,
    # Annotations stay annotations: a ``dict`` annotation must not start refusing other
    # mappings, nor an ``int`` one turn into a C integer.
    "annotation_typing": False,
    "binding": True,
    # A None where a typed value is declared (``.pxd``) raises AttributeError, as in
    # Python, instead of being read as the type.
    "nonecheck": True,
    "embedsignature": True,
}


def _extensions() -> list[object]:
    try:
        from Cython.Build import cythonize
        from setuptools import Extension
    except ImportError:  # no Cython: the pure-Python modules only
        return []
    modules = [
        Extension(name, [f"src/{name.replace('.', '/')}.py"], optional=True) for name in CORE
    ]
    compiled = cythonize(modules, compiler_directives=DIRECTIVES, quiet=True)
    for extension in compiled:
        # cythonize makes extensions of its own: each must stay optional, so that a
        # machine without a C compiler still installs (and runs the .py modules).
        extension.optional = True
    return list(compiled)


# The generated C is a build product: not shipped in the wheel.
setup(ext_modules=_extensions(), exclude_package_data={"": ["*.c"]})
