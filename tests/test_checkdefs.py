"""The check declarations (conformance/checkdefs.py) are complete and are what the engine reads."""

from __future__ import annotations

import pytest

from conformance import Case, InvalidSpec, PoolSpec, checkdefs, runner
from conformance.case import CHECKS, SELECTING_CHECKS

MAX = Case(PoolSpec(op="max", kernel=2), (1, 1, 4, 4))
AVG = Case(PoolSpec(op="avg", kernel=2), (1, 1, 4, 4))


@pytest.mark.parametrize("name", checkdefs.NAMES)
def test_every_check_has_a_function_and_a_valid_rule(name):
    check = checkdefs.of(name)
    assert callable(check.function())
    assert check.exact in checkdefs.EXACT_RULES
    assert check.cost > 0
    assert check.expected is None or check.expected in ("forward", "grad", "indices", "unpool")
    assert not check.diagnosed or check.variant_output is not None  # diagnosis needs variants


def test_cases_validate_against_the_declarations():
    assert CHECKS == checkdefs.NAMES
    assert set(SELECTING_CHECKS) == {n for n in checkdefs.NAMES if checkdefs.of(n).selecting_only}
    for name in SELECTING_CHECKS:
        with pytest.raises(InvalidSpec):
            Case(AVG.spec, AVG.input_shape, checks=(name,))
    with pytest.raises(InvalidSpec):
        Case(MAX.spec, MAX.input_shape, checks=("no-such-check",))


def test_defaults_and_extended_checks_follow_the_traits():
    assert checkdefs.defaults(True) == ("forward", "grad")  # hand-entered rule of the seeds
    assert checkdefs.defaults(False) == ("forward",)  # no gradient of integers
    assert checkdefs.extended(True, True) == (
        "invariant",
        "determinism",
        "indices",
        "unpool",
        "resized",
    )
    assert checkdefs.extended(True, False) == ("invariant", "determinism", "resized")


def test_the_comparison_rule_is_the_declared_one():
    assert checkdefs.of("forward").is_exact(True) and not checkdefs.of("forward").is_exact(False)
    assert not checkdefs.of("grad").is_exact(True)
    assert checkdefs.of("indices").is_exact(True)


def test_an_unknown_check_is_a_clear_error_record():
    result = runner.run_check(MAX, "numpy", "no-such-check")
    assert result.status == "error" and "no-such-check" in result.message and "forward" in result.message
