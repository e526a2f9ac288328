"""Reproducer scripts run standalone (NumPy and the framework, nothing of this project) and
reproduce what the target computed: the same number of elements differing from the expected
values as the target's own answer in this process."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conformance import Case, PoolSpec, Unsupported
from conformance.checks import at_default_stride
from tests.conftest import framework_backends, require

# Runs a script with this project's packages made unimportable.
BLOCKER = textwrap.dedent("""
    import runpy, sys
    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in ("conformance", "backends", "cases", "tests"):
                raise ImportError(f"the reproducer imported {name}")
    sys.meta_path.insert(0, Block())
    runpy.run_path(sys.argv[1], run_name="__main__")
""")

SMALL = Case(
    PoolSpec(op="max", kernel=2, stride=2, layout="channels_last"),
    (1, 6, 6, 3),
    dtype="bfloat16",
    family="nan",
    seed=3,
)
LARGE = Case(
    PoolSpec(op="avg", kernel=2, stride=2),
    (2, 3, 16, 16),
    dtype="float32",
    seed=5,
    checks=("forward", "grad", "default_stride"),
)  # 1,536 elements: compressed


def _bits_differing(actual: np.ndarray, expected: np.ndarray) -> int:
    a, e = actual.astype(np.float64), expected.astype(np.float64)
    same = (a == e) & (np.signbit(a) == np.signbit(e)) | (np.isnan(a) & np.isnan(e))
    return int((~same).sum())


@pytest.mark.parametrize("name", framework_backends())
def test_reproducers_run_standalone_and_reproduce(name, ref, tmp_path):
    backend = require(name)
    ran = 0
    for case, check in ((SMALL, "forward"), (SMALL, "grad"), (LARGE, "default_stride")):
        if check not in backend.snippet_checks:  # the reproducers the target declares it writes
            continue
        x = case.make_input()
        try:
            if check == "grad":
                gy = case.make_upstream()
                actual, expected = backend.vjp(case.spec, x, gy), ref.vjp(case.spec, x, gy)
            elif check == "default_stride":  # against the target's documented default
                actual = backend.forward_default_stride(case.spec, x)
                expected = ref.forward(at_default_stride(case.spec, backend.default_stride), x)
            else:
                actual, expected = backend.forward(case.spec, x), ref.forward(case.spec, x)
        except Unsupported:
            continue
        script = backend.reproducer(case, check, expected)
        assert "import conformance" not in script and "from conformance" not in script
        path = tmp_path / f"{check}.py"
        path.write_text(script)
        out = subprocess.run(
            [sys.executable, "-c", BLOCKER, str(path)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert out.returncode == 0, out.stderr[-3000:]
        found = re.search(r"(\d+) of (\d+) elements differ", out.stdout)
        assert found, out.stdout[-2000:]
        assert int(found.group(2)) == expected.size
        assert int(found.group(1)) == _bits_differing(actual, expected), out.stdout
        ran += 1
    if ran == 0:
        pytest.skip(f"{name} expresses none of the reproducer cases")


def test_large_arrays_are_embedded_compressed(ref):
    from conformance.reproducer import embed

    text = embed("x", LARGE.make_input())
    assert "_array(" in text and len(text) < LARGE.make_input().nbytes * 2
    assert embed("y", np.arange(4.0)).startswith("y = np.array([0.0, 1.0, 2.0, 3.0]")
