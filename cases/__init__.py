"""Named suites of cases. Imports NumPy and the standard library only, never a framework."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from dataclasses import replace as dc_replace
from functools import cache

from cases import suite_cache
from cases.axes import AXES, GEOMETRY_AXES, build_case, violates
from cases.covering import Coverage, covering_array, measure
from cases.errors import error_cases
from cases.files import load_cases
from cases.native import NATIVE, native_axes, native_rule
from cases.regressions import regression_cases
from cases.seeds import seed_cases
from cases.witnesses import witness_cases
from conformance import checkdefs
from conformance.case import Case
from conformance.dtypes import is_float
from conformance.errors import UsageError

# The group whose interactions most public pooling bugs live in (issue 3).
RISKY = ("op", "padding", "ceil_mode", "count_include_pad", "stride")


def _generated(
    suite: str, groups, seed: int = 0, native: bool = False, invariants: bool = False
) -> list[Case]:
    rows = covering_array(AXES, groups, violates, seed=seed)
    if native:
        for backend in NATIVE:
            rows += covering_array(native_axes(AXES, backend), groups, native_rule(backend), seed=seed)
    cases, seen = [], set()
    for row in rows:
        case = build_case(row, suite=suite, seed=seed)
        if case.id in seen:
            # two axis classes can make one case (kernel "one" at stride "default" and "one"):
            # the other batch size keeps this row's pairs in the suite instead of dropping them
            other = {**row, "batch": "many" if row["batch"] == "single" else "single"}
            case = build_case(other, suite=suite, seed=seed)
            if case.id in seen or violates(other):
                continue
        if invariants:  # the checks beyond values and gradients (checkdefs: `extended`)
            extra = checkdefs.extended(is_float(case.dtype), case.spec.kind.selects)
            case = dc_replace(case, checks=(*case.checks, *extra))
        seen.add(case.id)
        cases.append(case)
    return cases


def smoke(seed: int = 0) -> list[Case]:
    """Every pair of axis values at least once (so every value too): about 70 cases."""
    return _generated("smoke", [(list(AXES), 2)], seed=seed)


def default(seed: int = 0) -> list[Case]:
    """All pairs plus all triples of the risky group, over the whole space and again over each
    framework's native sub-space (cases/native.py)."""
    cases = _generated(
        "default", [(list(AXES), 2), (list(RISKY), 3)], seed=seed, native=True, invariants=True
    )
    extra = error_cases() + witness_cases()
    return cases + [dc_replace(c, suite="default") for c in extra]


def full(seed: int = 0) -> list[Case]:
    """The exhaustive product of the geometry axes (cases/axes.py: GEOMETRY_AXES), invalid
    combinations excluded by rule; layout, dtype, input family and batch are picked per geometry
    by a stable hash, so each of their values meets many geometries, uncorrelated with any axis.
    Tens of thousands of cases: for nightly runs. Another seed picks other values and inputs."""
    names = list(GEOMETRY_AXES)
    rest = [n for n in AXES if n not in names]
    cases, seen = [], set()
    for values in itertools.product(*(AXES[n] for n in names)):
        row = dict(zip(names, values, strict=True))
        if violates(row):
            continue
        for name in rest:  # a hash of the geometry picks the value: uncorrelated with any axis
            options = AXES[name]
            salt = f"{name}|{values}" if seed == 0 else f"{name}|{seed}|{values}"
            start = int(hashlib.sha256(salt.encode()).hexdigest(), 16)
            for shift in range(len(options)):
                row[name] = options[(start + shift) % len(options)]
                if violates(row) is None:
                    break
        if violates(row) is not None:
            continue
        case = build_case(row, suite="full", seed=seed)
        if case.id not in seen:
            seen.add(case.id)
            cases.append(case)
    return cases


def seeds(seed: int = 0) -> list[Case]:
    return seed_cases()  # hand-entered values: no seed


def errors(seed: int = 0) -> list:
    return error_cases()


def regressions(seed: int = 0) -> list[Case]:
    return regression_cases()  # values quoted from the reports


def witnesses(seed: int = 0) -> list[Case]:
    return witness_cases()


SUITES: dict[str, tuple[str, Callable[[], list[Case]]]] = {
    "seeds": ("every worked example of the seed documents, values entered by hand", seeds),
    "smoke": ("2-way covering array over every axis (fast; every value at least once)", smoke),
    "default": (
        "2-way + risky 3-way over every axis and each framework's native sub-space, "
        "invariants, and the error-parity geometries",
        default,
    ),
    "regressions": ("cases from public bug reports, with their links and quoted numbers", regressions),
    "full": ("exhaustive product of the geometry axes (nightly)", full),
    "witnesses": ("one small case per recorded known divergence", witnesses),
    "errors": ("invalid and degenerate geometries: how each framework reacts (error_parity)", errors),
}


@cache
def get_suite(name: str, seed: int = 0) -> tuple[Case, ...]:
    """A named suite; `seed` changes the generated suites' sampling and inputs (seed 0 is the
    published default: the same case ids and input bytes on every machine)."""
    if name not in SUITES:
        raise UsageError(f"unknown suite {name!r}; choose from {', '.join(SUITES)}")
    stored = suite_cache.load(name, seed) if name in suite_cache.GENERATED else None
    if stored is not None:
        return stored
    cases = SUITES[name][1](seed)
    ids = [c.id for c in cases]
    dup = {i for i in ids if ids.count(i) > 1}
    assert not dup, f"duplicate case ids in suite {name}: {sorted(dup)}"
    if name in suite_cache.GENERATED:
        suite_cache.store(name, seed, tuple(cases))
    return tuple(cases)


def is_case_file(name: str) -> bool:
    return name.startswith("file:") or name.endswith((".toml", ".json", ".yaml", ".yml"))


def load_suites(arg: str, seed: int = 0) -> list[Case]:
    """The one loader of the CLI and the pytest plugin: comma-separated suite names and case
    files (`file:PATH`, or a path ending in .toml/.json/.yaml/.yml), each taken once."""
    cases: list[Case] = []
    first: dict[str, tuple[str, Case]] = {}  # case id -> (where it came from, the case)
    for name in dict.fromkeys(n.strip() for n in arg.split(",") if n.strip()):
        found = load_cases(name.removeprefix("file:")) if is_case_file(name) else get_suite(name, seed)
        for case in found:
            if case.id in first:
                where, other = first[case.id]
                if _same_case(case, other):
                    continue  # the same case in two suites runs once
                raise UsageError(
                    f"case id {case.id!r} of {name} names another case in {where} "
                    f"(a different spec, shape, dtype, family or seed); rename it"
                )
            first[case.id] = (name, case)
            cases.append(case)
    if not cases:
        raise UsageError(f"--suite {arg!r}: no cases (choose from {', '.join(SUITES)} or a case file)")
    return cases


def _same_case(a: Case, b: Case) -> bool:
    return (a.spec, a.input_shape, a.dtype, a.family, a.seed) == (
        b.spec,
        b.input_shape,
        b.dtype,
        b.family,
        b.seed,
    )


def coverage(cases: list[Case] | tuple[Case, ...], native: bool = False) -> list[Coverage]:
    """The interaction coverage a generated suite reaches (needs its axis rows): over the
    whole space, and with `native`, over each framework's native sub-space."""
    rows = [c.axes for c in cases if getattr(c, "axes", None)]
    out = [measure(AXES, rows, list(AXES), 2, violates), measure(AXES, rows, list(RISKY), 3, violates)]
    if native:
        for backend in NATIVE:
            axes, rule = native_axes(AXES, backend), native_rule(backend)
            mine = [r for r in rows if rule(r) is None and all(r[k] in v for k, v in axes.items())]
            for cov in (measure(axes, mine, list(axes), 2, rule), measure(axes, mine, list(RISKY), 3, rule)):
                cov.label = backend
                out.append(cov)
    return out


__all__ = ["AXES", "RISKY", "SUITES", "coverage", "get_suite", "load_suites"]
