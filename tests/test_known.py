"""Known-divergence data: loading, matching and classification (strict expectations)."""

from __future__ import annotations

import pytest

from conformance import Case, InvalidSpec, PoolSpec, known, registry, runner
from conformance.known import KnownDivergence, case_facts

AVG_SAME = Case(PoolSpec(op="avg", kernel=3, stride=2, padding="same", layout="channels_last"), (1, 6, 6, 2))


def test_every_shipped_entry_loads_and_has_a_source():
    for name in registry.names():
        for entry in known.load(name):
            assert entry.reason and entry.link
            assert entry.link.startswith("https://") or entry.link == "no public report found"
            assert entry.status in ("mismatch", "shape_mismatch", "error", "nondeterministic")
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
