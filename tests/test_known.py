"""Known-divergence data: loading, matching and classification (strict expectations)."""

from __future__ import annotations

import numpy as np
import pytest

from conformance import Case, InvalidSpec, PoolSpec, known, registry, runner
from conformance.known import KnownDivergence, case_facts

AVG_SAME = Case(PoolSpec(op="avg", kernel=3, stride=2, padding="same", layout="channels_last"), (1, 6, 6, 2))


def test_every_shipped_entry_loads_and_has_a_source():
    for name in registry.names():
        for entry in known.load(name):
            assert entry.reason and entry.link
            assert entry.link.startswith("https://") or entry.link == "no public report found"
            assert entry.status in ("mismatch", "shape_mismatch", "error", "crash", "nondeterministic")
            # a call that differs between two tries need not differ on every case
            assert entry.status != "nondeterministic" or not entry.strict, entry.id


def test_matching_uses_facts_lists_and_numeric_bounds():
    facts = case_facts(AVG_SAME, "forward", "cpu")
    assert facts["padding"] == "same" and facts["padded"] is True and facts["spatial_size"] == 36
    hit = KnownDivergence("x", "mismatch", "r", "l", when={"op": ["max", "avg"], "spatial_size": ">30"})
    miss = KnownDivergence("x", "mismatch", "r", "l", when={"spatial_size": "<=30"})
    wrong_check = KnownDivergence("x", "mismatch", "r", "l", checks=("grad",))
    assert hit.matches(facts, "1.0")
    assert not miss.matches(facts, "1.0")
    assert not wrong_check.matches(facts, "1.0")
    assert not KnownDivergence("x", "mismatch", "r", "l", versions="<1.0").matches(facts, "1.0")
    assert not KnownDivergence("x", "mismatch", "r", "l", when={"padded": 1}).matches(facts, "1.0")


def test_tf_same_average_is_a_known_divergence_and_a_fix_would_surface(monkeypatch):
    pytest.importorskip("tensorflow")
    result = runner.run_check(AVG_SAME, "tensorflow", "forward")
    assert result.status == "known_divergence"
    assert result.known["id"] == "tf-same-avg-excludes-padding"
    # Same case with padding left out of the divisor: TF agrees, and an entry claiming a
    # mismatch there turns the pass into a failing fixed_divergence.
    fixed = Case(
        PoolSpec(
            op="avg", kernel=3, stride=2, padding="same", count_include_pad=False, layout="channels_last"
        ),
        (1, 6, 6, 2),
    )
    fake = KnownDivergence(
        "fake", "mismatch", "pretend", "no public report found", when={"count_include_pad": False}
    )
    monkeypatch.setattr(known, "load", lambda backend, directory=None: (fake,))
    assert runner.run_check(fixed, "tensorflow", "forward").status == "fixed_divergence"


def test_bad_known_file_is_a_clear_error(tmp_path):
    (tmp_path / "broken.toml").write_text('[[divergence]]\nid = "a"\nstatus = "mismatch"\nsurprise = 1\n')
    with pytest.raises(InvalidSpec) as info:
        known.load("broken", str(tmp_path))
    assert "broken.toml" in str(info.value) and "surprise" in str(info.value)


def test_a_device_enum_matches_entries_written_with_the_plain_string():
    """Device is a str enum; facts compare by type too, so they must hold the plain string."""
    from conformance.devices import Device

    facts = case_facts(AVG_SAME, "forward", Device.CPU)
    assert type(facts["device"]) is str and facts["device"] == "cpu"
    assert KnownDivergence("x", "mismatch", "r", "l", when={"device": "cpu"}).matches(facts, "1.0")


def test_a_crash_entry_classifies_a_crashed_task_without_the_reference(monkeypatch):
    """A converter that kills its process (paddle2onnx's SIGFPE) is tracked like any divergence:
    the parent classifies the crash record from the case's facts alone (no outputs exist)."""
    from conformance.task import Task

    case = Case(PoolSpec(op="adaptive_avg", output_size=(5, 3)), (1, 1, 3, 2))
    crash = KnownDivergence(
        "fake-crash", "crash", "pretend", "no public report found", when={"output_exceeds_input": True}
    )
    monkeypatch.setattr(known, "load", lambda backend, directory=None: (crash,))
    record = Task(case, "numpy", "forward").result("crash", "worker process killed by SIGFPE")
    classified = runner.classify(record, case, reference=False)
    assert classified.status == "known_divergence" and classified.known["id"] == "fake-crash"
    other = Case(PoolSpec(op="adaptive_avg", output_size=(1, 1)), (1, 1, 3, 2))
    record = Task(other, "numpy", "forward").result("crash", "worker process killed by SIGFPE")
    assert runner.classify(record, other, reference=False).status == "crash"


def test_input_has_nan_reads_given_values_too():
    spec = PoolSpec(op="max", kernel=2)
    # named, as hand-written cases are (values do not take part in a case's equality)
    given = Case(spec, (1, 1, 2, 2), family="given", values=np.array([1.0, np.nan, 2.0, 3.0]), name="a")
    plain = Case(spec, (1, 1, 2, 2), family="given", values=np.arange(4.0), name="b")
    assert case_facts(given, "forward", "cpu")["input_has_nan"] is True
    assert case_facts(plain, "forward", "cpu")["input_has_nan"] is False


def test_the_suites_own_refusal_is_never_a_known_divergence(monkeypatch):
    """An entry with status "error" describes a target's failure; an InvalidSpec raised by the
    suite's own code (a check run outside its rule, a harness bug) must stay a failing error."""
    anything = KnownDivergence("fake-any-error", "error", "pretend", "no public report found", when={})
    monkeypatch.setattr(known, "load", lambda backend, directory=None: (anything,))
    target = registry.get("numpy")

    def refuse(*args, **kwargs):
        raise InvalidSpec("stride", (2, 2), "equal to the kernel for default_stride")

    monkeypatch.setattr(target, "forward", refuse)
    result = runner.run_check(AVG_SAME, "numpy", "forward")
    assert result.status == "error" and result.known is None
    assert "InvalidSpec" in result.message and "stride" in result.message

    def framework_error(*args, **kwargs):
        raise RuntimeError("framework says no")

    monkeypatch.setattr(target, "forward", framework_error)
    assert runner.run_check(AVG_SAME, "numpy", "forward").status == "known_divergence"
