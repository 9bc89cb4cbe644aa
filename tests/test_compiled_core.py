"""The optional compiled core (``setup.py``, ``charter.policy.core``): built, it is what
runs, and it decides exactly as the pure-Python modules it is compiled from."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest
from bench.workload import NOW, build

from charter.policy import compiled_core
from charter.policy.cel import compile_condition
from charter.policy.compiler import compile_policy
from charter.policy.core import CORE_MODULES, compiled_modules, is_stale, stale_modules
from charter.policy.evaluate import evaluate

ROOT = Path(__file__).resolve().parents[1]


def _built() -> list[str]:
    """The core modules with an extension built beside their source."""
    found = []
    for name in CORE_MODULES:
        folder = ROOT / "src" / Path(*name.split(".")[:-1])
        stem = name.rpartition(".")[2]
        if any((folder / f"{stem}{suffix}").is_file() for suffix in EXTENSION_SUFFIXES):
            found.append(name)
    return found


def test_setup_compiles_exactly_the_core_modules() -> None:
    tree = ast.parse((ROOT / "setup.py").read_text(encoding="utf-8"))
    listed = next(
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "CORE" for t in node.targets)
    )
    assert sorted(ast.literal_eval(listed)) == sorted(CORE_MODULES)
    for name in CORE_MODULES:
        assert (ROOT / "src" / f"{name.replace('.', '/')}.py").is_file()


def test_the_compiled_core_is_what_runs_when_it_is_built() -> None:
    built = _built()
    if not built and not os.environ.get("CI"):
        pytest.skip("no compiled core built here (pip install -e . builds it)")
    # CI installs with `pip install -e .`, which builds it: there it must be loaded.
    assert built == list(CORE_MODULES)
    assert compiled_modules() == CORE_MODULES
    assert compiled_core()


def _declarations(pxd: Path) -> list[Path]:
    """``pxd`` (when there is one) and the declarations it cimports, beside it."""
    if not pxd.is_file():
        return []
    found = [pxd]
    for line in pxd.read_text(encoding="utf-8").splitlines():
        cimported = re.match(r"from charter\.policy\.(\w+) cimport ", line)
        if cimported:
            found.append(pxd.with_name(f"{cimported.group(1)}.pxd"))
    return found


def test_a_built_core_is_not_older_than_its_source() -> None:
    # Python imports a compiled module in place of its .py file: one built before the
    # source was last changed would run old code.
    stale = []
    for name in _built():
        source = ROOT / "src" / f"{name.replace('.', '/')}.py"
        declarations = _declarations(source.with_suffix(".pxd"))
        extension = next(
            source.with_name(f"{source.stem}{suffix}")
            for suffix in EXTENSION_SUFFIXES
            if source.with_name(f"{source.stem}{suffix}").is_file()
        )
        newest = max(path.stat().st_mtime for path in (source, *declarations))
        if extension.stat().st_mtime < newest:
            stale.append(name)
    assert not stale, (
        f"compiled before their source changed: {stale}; rebuild with "
        "`pip install --no-deps --constraint constraints.txt --editable .`"
    )


_PURE_DECISIONS = """
import json, sys
from bench import purepython
purepython.install()
from bench.workload import NOW, build
from charter.policy.cel import compile_condition
from charter.policy.compiler import compile_policy
from charter.policy.core import compiled_modules
from charter.policy.evaluate import evaluate
workload = build(int(sys.argv[1]), requests=int(sys.argv[2]), fresh_context=True)
snapshot = compile_policy(workload.policy, revision="rev_core", conditions=compile_condition)
requests = [*workload.requests, *workload.guarded_requests, *workload.novel_conditional_requests]
print(json.dumps({
    "compiled": compiled_modules(),
    "decisions": [
        evaluate(r, snapshot, workload.facts[r.agent], NOW).to_json() for r in requests
    ],
}))
"""


def test_the_pure_python_modules_decide_exactly_as_the_compiled_core() -> None:
    agents, count = 300, 3_000
    finished = subprocess.run(
        [sys.executable, "-c", _PURE_DECISIONS, str(agents), str(count)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])},
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    pure = json.loads(finished.stdout)
    assert pure["compiled"] == []  # the child ran every module from source
    workload = build(agents, requests=count, fresh_context=True)
    snapshot = compile_policy(workload.policy, revision="rev_core", conditions=compile_condition)
    requests = [
        *workload.requests,
        *workload.guarded_requests,
        *workload.novel_conditional_requests,
    ]
    here = [evaluate(r, snapshot, workload.facts[r.agent], NOW).to_json() for r in requests]
    assert len({d["code"] for d in here}) >= 3  # allowed, guardrail, no_permission at least
    assert here == pure["decisions"]


def test_a_source_edited_after_the_build_makes_its_extension_stale(tmp_path: Path) -> None:
    built = tmp_path / "evaluate.cpython-311-x86_64-linux-gnu.so"
    source = tmp_path / "evaluate.py"
    built.write_bytes(b"")
    assert not is_stale(built)  # no source beside it
    source.write_text("")
    os.utime(built, (1_000_000, 1_000_000))
    os.utime(source, (1_000_001, 1_000_001))  # written a moment apart, as installs do
    assert not is_stale(built)
    os.utime(source, (1_000_600, 1_000_600))  # edited ten minutes after the build
    assert is_stale(built)
    assert stale_modules() == ()  # this checkout's core, if built, is up to date
