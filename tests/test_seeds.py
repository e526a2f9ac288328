"""The seed documents' worked examples: the reference must reproduce every hand-entered value,
and every erratum must really contradict the document's claim."""

from __future__ import annotations

import numpy as np
import pytest

from cases.seeds import errata, seed_cases
from conformance.spec import replace

SEEDS = seed_cases()


@pytest.mark.parametrize("case", SEEDS, ids=[c.id for c in SEEDS])
def test_reference_reproduces_the_hand_values(ref, case):
    x = case.make_input()
    y = ref.forward(case.spec, x)
    if case.expected_shape is not None:
        assert y.shape == tuple(case.expected_shape)
    if case.expected is not None:
        np.testing.assert_array_equal(y, np.asarray(case.expected).reshape(y.shape).astype(y.dtype))
    if case.expected_grad is not None:
        g = ref.vjp(case.spec, x, case.make_upstream())
        np.testing.assert_array_equal(g, np.asarray(case.expected_grad).reshape(x.shape))


def test_every_seed_case_has_expectations_and_a_source():
    for case in SEEDS:
        assert case.expected is not None or case.expected_shape is not None, case.id
        assert case.note.startswith("seed 00"), case.id


def test_seed_ids_are_unique():
    ids = [c.id for c in SEEDS]
    assert len(ids) == len(set(ids))


def test_the_7x7_claim_holds_only_in_ceil_mode(ref):
    """Seed 001 §3.4: '7x7 input, 2x2 pooling, stride 2 gives 4x4'."""
    floor = next(c for c in SEEDS if c.id == "seed001-7x7-2x2-stride2-floor")
    assert floor.erratum
    x = floor.make_input()
    assert ref.forward(floor.spec, x).shape[2:] == (3, 3)
    assert ref.forward(replace(floor.spec, ceil_mode=True), x).shape[2:] == (4, 4)


def test_each_erratum_differs_from_the_claim(ref):
    """The documents' claimed output sizes, written down here, against the reference."""
    claimed = {
        "seed001-max-3x3-stride2-4x4-floor": (2, 2),
        "seed001-7x7-2x2-stride2-floor": (4, 4),
        "seed001-padding-keeps-size-default-stride": (5, 5),
        "seed003-size-formula-not-divisible": None,  # 2.5: not a size at all
    }
    assert {c.id for c in errata()} == set(claimed)
    for case in errata():
        shape = ref.forward(case.spec, case.make_input()).shape[2:]
        assert claimed[case.id] is None or shape != claimed[case.id], case.id
