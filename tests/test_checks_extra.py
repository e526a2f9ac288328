"""Error parity, invariants and diagnosis can fail: shown with deliberately wrong backends."""

from __future__ import annotations

import pytest

from cases import get_suite
from conformance import Case, PoolSpec, registry, runner

FAKES = {
    "fake-layout-bug": "tests.fake_backends:LayoutBugBackend",
    "fake-cross-talk": "tests.fake_backends:CrossTalkBackend",
    "fake-cip-flipped": "tests.fake_backends:CipFlippedBackend",
    "fake-permissive": "tests.fake_backends:PermissiveBackend",
    "fake-strict": "tests.fake_backends:StrictBackend",
    "fake-split-ties": "tests.fake_backends:SplitTiesBackend",
}


@pytest.fixture(scope="module", autouse=True)
def fakes():
    for name, target in FAKES.items():
        registry.register(name, target)
    yield
    for name in FAKES:
        registry._extra.pop(name, None)
        registry._loaded.pop(name, None)


CASE = Case(PoolSpec(op="avg", kernel=3, stride=2, padding=1, layout="channels_last"), (2, 7, 7, 3))


def test_invariants_hold_for_the_reference_semantics():
    result = runner.run_check(CASE, "fake-cip-flipped", "invariant")
    assert result.status == "pass", result.message
    assert "layout" in result.message and "channel" in result.message


def test_layout_invariant_catches_a_layout_bug():
    result = runner.run_check(CASE, "fake-layout-bug", "invariant")
    assert result.status == "mismatch" and "layout" in result.message


def test_channel_invariant_catches_cross_talk():
    result = runner.run_check(CASE, "fake-cross-talk", "invariant")
    assert result.status == "mismatch" and "channel:" in result.message


def test_diagnosis_names_the_semantics_a_backend_follows():
    result = runner.run_check(CASE, "fake-cip-flipped", "forward")
    assert result.status == "mismatch"
    assert "[cip_flipped]" in (result.diagnosis or "")


def test_diagnosis_recognises_a_split_tie_gradient():
    ties = Case(PoolSpec(op="max", kernel=2), (1, 2, 6, 6), family="ties")
    result = runner.run_check(ties, "fake-split-ties", "grad")
    assert result.status == "mismatch" and "[grad_split_ties]" in (result.diagnosis or "")


def test_error_parity_outcomes():
    errors = {c.id: c for c in get_suite("errors")}
    invalid = errors["error-kernel-zero-max"]
    assert runner.run_check(invalid, "fake-strict", "error_parity").status == "pass"
    accepted = runner.run_check(invalid, "fake-permissive", "error_parity")
    assert accepted.status == "mismatch" and "returns shape" in accepted.message
    valid = errors["error-ceil-window-in-right-padding-max"]
    assert runner.run_check(valid, "fake-strict", "error_parity").status == "pass"
    assert runner.run_check(valid, "fake-permissive", "error_parity").status == "shape_mismatch"


@pytest.mark.skipif("torch" not in registry.available(), reason="torch is not installed")
def test_error_parity_records_the_framework_message():
    errors = {c.id: c for c in get_suite("errors")}
    result = runner.run_check(errors["error-stride-zero-max"], "torch", "error_parity")
    assert result.status == "pass" and "stride should not be zero" in result.message
