"""The regressions suite: public reports, their links, and the numbers they quote."""

from __future__ import annotations

import numpy as np
import pytest

from cases import get_suite
from cases.regressions import LINKS, QUOTED

CASES = get_suite("regressions")


def test_at_least_twenty_cases_each_with_a_public_link():
    assert len(CASES) >= 20
    for case in CASES:
        assert LINKS[case.id].startswith("https://"), case.id
        assert LINKS[case.id] in case.note


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_reference_reproduces_the_reported_numbers(ref, case):
    x = case.make_input()
    y = ref.forward(case.spec, x)
    if case.expected_shape is not None:
        assert y.shape == tuple(case.expected_shape)
    if case.expected is not None:
        want = np.asarray(case.expected, dtype=np.float64).reshape(y.shape)
        np.testing.assert_allclose(y.astype(np.float64), want, rtol=1e-6, atol=1e-45)
    if case.id in QUOTED:
        index, values, atol = QUOTED[case.id]
        np.testing.assert_allclose(y[index].astype(np.float64), np.asarray(values), atol=atol)
    if case.expected_grad is not None:
        g = ref.vjp(case.spec, x, case.make_upstream())
        np.testing.assert_array_equal(g, np.asarray(case.expected_grad).reshape(x.shape))
