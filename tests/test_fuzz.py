"""Fuzzing validation: thousands of random, mostly invalid specs, cases and case-file fragments.
The only exceptions allowed out are InvalidSpec / Unsupported (and UsageError for files).

CONFORMANCE_FUZZ_EXAMPLES sets the number of examples per test (CI: 1000; run once with 10000)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases.files import SPEC_KEYS, load_cases
from conformance import Case, InvalidSpec, PoolSpec, Unsupported, UsageError

EXAMPLES = int(os.environ.get("CONFORMANCE_FUZZ_EXAMPLES", "1000"))
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)

ints = st.integers(-3, 9) | st.integers(-(2**40), 2**40)
junk = st.recursive(
    st.none()
    | st.booleans()
    | ints
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | st.sampled_from(
        ["max", "avg", "same", "valid", "same_lower", "channels_last", "channels_first", "float16", "int8"]
    ),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=4), inner, max_size=2)
    ),
    max_leaves=6,
)
spec_dicts = st.dictionaries(st.sampled_from(SPEC_KEYS), junk, max_size=len(SPEC_KEYS))


@FUZZ
@given(spec_dicts, st.lists(st.integers(-1, 7), min_size=1, max_size=6), junk, junk, junk)
def test_specs_cases_and_reference_raise_only_invalid_spec(ref, fields, shape, dtype, family, gy_seed):
    try:
        spec = PoolSpec(**fields)
    except InvalidSpec:
        return
    try:
        case = Case(
            spec,
            tuple(shape),
            dtype=dtype if isinstance(dtype, str) else "float32",
            family=family if isinstance(family, str) else "distinct",
        )
    except InvalidSpec:
        return
    try:
        x = case.make_input()
        ref.forward(case.spec, x)
        if x.dtype.kind == "f":
            ref.vjp(case.spec, x, case.make_upstream())
    except (InvalidSpec, Unsupported):
        pass
    assert np.asarray(x).shape == case.input_shape


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return repr(v) if v == v and abs(v) != float("inf") else "nan"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(i) for i in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f'"{k}" = {_toml_value(i)}' for k, i in v.items()) + "}"
    return '""'


fragments = st.lists(
    st.tuples(
        st.sampled_from([*SPEC_KEYS, "input_shape", "dtype", "family", "seed", "checks", "name", "bogus"]),
        junk,
    ),
    max_size=8,
)
garbage = st.text(max_size=40)


@FUZZ
@given(st.lists(fragments, max_size=3), garbage, st.sampled_from([".toml", ".json", ".yaml"]))
def test_case_file_fragments_raise_only_usage_error(cases, noise, suffix):
    if suffix == ".toml":
        text = (
            "".join(
                "[[case]]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in dict(c).items()) for c in cases
            )
            + noise
        )
    elif suffix == ".json":
        import json

        text = json.dumps({"case": [dict(c) for c in cases]}, default=str) + noise
    else:
        items = (
            "  - " + "\n    ".join(f"{k}: {_toml_value(v)}" for k, v in dict(c).items()) + "\n"
            for c in cases
            if c
        )
        text = "case:\n" + "".join(items) + noise
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fuzz{suffix}"
        path.write_text(text)
        try:
            loaded = load_cases(path)
        except UsageError:
            return
    assert all(isinstance(c, Case) for c in loaded)
