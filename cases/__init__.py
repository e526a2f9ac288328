"""Named suites of cases. Imports NumPy and the standard library only, never a framework."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from cases.axes import AXES, build_case, violates
from cases.covering import Coverage, covering_array, measure
from cases.seeds import seed_cases
from conformance.case import Case
from conformance.errors import UsageError

# The group whose interactions most public pooling bugs live in (issue 3).
RISKY = ("op", "padding", "ceil_mode", "count_include_pad", "stride")


def _generated(suite: str, groups, seed: int = 0) -> list[Case]:
    rows = covering_array(AXES, groups, violates, seed=seed)
    return [build_case(row, suite=suite, seed=seed) for row in rows]


def smoke() -> list[Case]:
    """Every pair of axis values at least once (so every value too): about 55 cases."""
    return _generated("smoke", [(list(AXES), 2)])


def default() -> list[Case]:
    """All pairs, plus all triples of the risky group."""
    return _generated("default", [(list(AXES), 2), (list(RISKY), 3)])


def seeds() -> list[Case]:
    return seed_cases()


SUITES: dict[str, tuple[str, Callable[[], list[Case]]]] = {
    "seeds": ("every worked example of the seed documents, values entered by hand", seeds),
    "smoke": ("2-way covering array over every axis (fast; every value at least once)", smoke),
    "default": ("2-way over every axis + 3-way over the risky group", default),
}


@cache
def get_suite(name: str) -> tuple[Case, ...]:
    if name not in SUITES:
        raise UsageError(f"unknown suite {name!r}; choose from {', '.join(SUITES)}")
    cases = SUITES[name][1]()
    ids = [c.id for c in cases]
    dup = {i for i in ids if ids.count(i) > 1}
    assert not dup, f"duplicate case ids in suite {name}: {sorted(dup)}"
    return tuple(cases)


def coverage(cases: list[Case] | tuple[Case, ...]) -> list[Coverage]:
    """The interaction coverage a generated suite reaches (needs its axis rows)."""
    rows = [c.axes for c in cases if getattr(c, "axes", None)]
    return [measure(AXES, rows, list(AXES), 2, violates), measure(AXES, rows, list(RISKY), 3, violates)]


__all__ = ["AXES", "RISKY", "SUITES", "coverage", "get_suite"]
