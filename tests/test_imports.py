"""The import graph of the project's own modules: no cycle, no upward arrow, and imports
inside functions only where they keep a framework or a heavy library lazy, with the reason.

Layers, lowest first: a module imports from its own layer or below, never above. A new module
fails `test_every_module_has_a_layer` until it is placed here, which is where its place in the
design is decided. Function-level imports count as arrows too (they hid a cycle once).
"""

from __future__ import annotations

import ast
import graphlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("conformance", "backends", "cases")

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (  # values and rules every other module shares; no run, no target
        "foundation",
        (
            "conformance.errors",
            "conformance.ops",
            "conformance.devices",
            "conformance.dtypes",
            "conformance.spec",
            "conformance.cpu",
            "conformance.cachedir",
            "conformance.checkdefs",
            "conformance.options",
            "conformance.packages",
            "conformance.environments",
            "conformance.reproducer",
            "conformance.bundle_check",
            "conformance.compare",
            "conformance.errorparity",
            "conformance.invariants",
            "conformance.evidence",
        ),
    ),
    ("interface", ("conformance.backend", "conformance.case")),  # what a target and a case are
    (  # the oracle
        "reference",
        ("backends", "backends.reference_kernels", "backends.reference_loops", "backends.numpy"),
    ),
    ("targets", ("backends.*",)),  # one file each (and the ONNX model builder they share)
    ("registry", ("conformance.registry",)),  # loads targets by name, never by import
    ("cases", ("cases", "cases.*")),
    (  # a task's checks, its known divergences, its record
        "checking",
        (
            "conformance.checks",
            "conformance.diagnosis",
            "conformance.known",
            "conformance.features",
            "conformance.reasons",
            "conformance.results",
            "conformance.task",
            "conformance.runfolder",
            "conformance.shard",
            "conformance.share",
        ),
    ),
    (  # running tasks, in this process or in workers
        "engine",
        (
            "conformance.runner",
            "conformance.isolation",
            "conformance.worker",
            "conformance.execution",
            "conformance.probes",
        ),
    ),
    (
        "output",
        (
            "conformance.compat",
            "conformance.fidelity",
            "conformance.summary",
            "conformance.report",
            "conformance.export",
        ),
    ),
    (  # what users call
        "front",
        (
            "conformance",
            "conformance.cli",
            "conformance.__main__",
            "conformance.pytest_plugin",
            "conformance.bench",
        ),
    ),
)

# Imported inside functions on purpose everywhere (tests/ and the pytest plugin are exempt
# from the rule in pyproject.toml: the plugin loads in every pytest session).
LAZY_NOTE = re.compile(r"#\s*noqa:[^(]*PLC0415[^(]*\(lazy: .{8,}\)")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).glob("*.py")):
            name = package if path.name == "__init__.py" else f"{package}.{path.stem}"
            found[name] = path
    return found


MODULES = _modules()


def _layer(module: str) -> int:
    for index, (_, members) in enumerate(LAYERS):
        if module in members:
            return index
    for index, (_, members) in enumerate(LAYERS):
        if any(m.endswith(".*") and module.startswith(m[:-1]) for m in members):
            return index
    raise KeyError(module)


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> set[str]:
    """The project modules one import statement loads (the deepest existing name)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        assert node.level == 0, f"{module}: relative import"
        names = [  # a submodule by its own name, an attribute by its module's
            f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES else node.module or ""
            for a in node.names
        ]
    found = set()
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name and name != module:
            found.add(name)
    return found


def _imports() -> list[tuple[str, str, int, bool]]:
    """(importer, imported, line, inside a function) for every project import statement."""
    edges = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text())
        in_function = set()
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                in_function.update(id(n) for n in ast.walk(fn))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges.extend(
                    (module, target, node.lineno, id(node) in in_function)
                    for target in _targets(module, node)
                )
    return edges


EDGES = _imports()


def test_every_module_has_a_layer():
    unplaced = []
    for module in MODULES:
        try:
            _layer(module)
        except KeyError:
            unplaced.append(module)
    assert not unplaced, f"place these modules in tests/test_imports.py LAYERS: {unplaced}"


def test_the_import_graph_has_no_cycle():
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for importer, imported, _, _ in EDGES:
        graph[importer].add(imported)
    try:
        list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as cycle:
        pytest.fail(f"import cycle: {' -> '.join(cycle.args[1])}")


def test_no_module_imports_from_a_layer_above_its_own():
    upward = [
        f"{a} ({LAYERS[_layer(a)][0]}) -> {b} ({LAYERS[_layer(b)][0]}), line {line}"
        for a, b, line, _ in EDGES
        if _layer(b) > _layer(a)
    ]
    assert not upward, "\n".join(upward)


def test_the_checker_sees_an_upward_arrow_and_a_cycle():
    """The rules above can fail: the layer order puts the registry over the targets, and a
    hand-made two-module loop is a cycle."""
    assert _layer("conformance.registry") > _layer("backends.torch") > _layer("conformance.backend")
    with pytest.raises(graphlib.CycleError):
        list(graphlib.TopologicalSorter({"a": {"b"}, "b": {"a"}}).static_order())


def test_function_level_imports_say_why_they_are_lazy():
    exempt = {"conformance.pytest_plugin"}
    unexplained = []
    for module, path in MODULES.items():
        if module in exempt:
            continue
        lines = path.read_text().splitlines()
        tree = ast.parse(path.read_text())
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, (ast.Import, ast.ImportFrom)) and not LAZY_NOTE.search(
                    lines[node.lineno - 1]
                ):
                    unexplained.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not unexplained, f"imports inside functions without '# noqa: PLC0415 (lazy: why)': {unexplained}"


def test_the_package_and_the_plugins_import_load_no_framework():
    """`import conformance` and the pytest plugin's import (which runs in every pytest session
    of the environment) load neither a framework nor the registry."""
    code = (
        "import sys, conformance, conformance.pytest_plugin\n"
        "heavy = {'torch', 'tensorflow', 'jax', 'keras', 'onnxruntime', 'openvino', 'ml_dtypes',"
        " 'pandas', 'conformance.registry', 'backends', 'cases'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_the_public_names_resolve_on_first_use():
    import conformance
    from conformance import case, errors, spec

    assert sorted(conformance.__all__) == sorted(conformance._PUBLIC)
    assert conformance.Case is case.Case and conformance.PoolSpec is spec.PoolSpec
    assert conformance.InvalidSpec is errors.InvalidSpec
    assert conformance.registry.TARGETS
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = conformance.nothing


def test_the_engine_reaches_cases_and_backends_through_packages_load():
    """`python -m conformance` puts the current folder first on sys.path: a user's own
    `cases/` or `backends/` would answer an import statement (test_environment_isolation.py
    runs that). conformance's modules reach the siblings through `packages.load` (the pytest
    plugin after `packages.ensure`)."""
    direct = [
        f"{a} -> {b}, line {line}"
        for a, b, line, _ in EDGES
        if a.partition(".")[0] == "conformance"
        and a != "conformance.pytest_plugin"
        and b.partition(".")[0] in ("cases", "backends")
    ]
    assert not direct, direct
