"""Converter fidelity (conformance.fidelity): each converter path's results paired with its
source's, hand-built records with the category each pair must land in."""

from __future__ import annotations

import json

import pytest

from conformance import fidelity, registry
from conformance.report import write_report
from conformance.results import Result, ResultWriter

FLUSH = "matches reference with subnormals flushed [flush_subnormals]"
NAN = "matches reference with NaN dropped [nan_dropped]"


def _record(backend: str, case: str, status: str, check: str = "forward", diagnosis: str | None = None):
    return {
        "backend": backend,
        "case_id": case,
        "check": check,
        "device": "cpu",
        "status": status,
        "diagnosis": diagnosis,
        "known": {"id": f"{backend}-entry"} if status == "known_divergence" else None,
    }


# (source status, source diagnosis, converted status, converted diagnosis) -> category
PAIRS = {
    ("pass", None, "pass", None): "preserved",
    ("pass", None, "fixed_divergence", None): "preserved",
    ("known_divergence", FLUSH, "mismatch", FLUSH + "; " + NAN): "same divergence",
    ("pass", None, "known_divergence", NAN): "introduced",
    ("pass", None, "error", None): "introduced",
    ("known_divergence", FLUSH, "pass", None): "corrected",
    ("known_divergence", FLUSH, "known_divergence", NAN): "changed",
    ("known_divergence", None, "known_divergence", None): "undiagnosed",
    ("known_divergence", FLUSH, "shape_mismatch", None): "undiagnosed",
    ("pass", None, "unsupported", None): "refused",
}


@pytest.mark.parametrize(("pair", "expected"), list(PAIRS.items()), ids=list(PAIRS.values()))
def test_each_pair_lands_in_its_category(pair, expected):
    s_status, s_diag, c_status, c_diag = pair
    source = _record("torch", "c", s_status, diagnosis=s_diag)
    converted = _record("torch-onnx-script", "c", c_status, diagnosis=c_diag)
    assert fidelity.category(source, converted) == expected


def test_a_case_the_source_does_not_compute_is_beyond_it():
    source, converted = _record("torch", "c", "unsupported"), _record("openvino-torch", "c", "pass")
    assert fidelity.category(source, converted) is None


def test_paths_are_paired_with_their_registered_source_case_by_case():
    records = []
    for i, (pair, _) in enumerate(PAIRS.items()):
        s_status, s_diag, c_status, c_diag = pair
        records.append(_record("torch", f"c{i}", s_status, diagnosis=s_diag))
        records.append(_record("openvino-torch", f"c{i}", c_status, diagnosis=c_diag))
    records.append(_record("torch", "beyond", "unsupported"))
    records.append(_record("openvino-torch", "beyond", "pass"))
    # a check the path never computes (gradients through a runtime) is not a refusal
    records.append(_record("torch", "c0", "pass", check="grad"))
    records.append(_record("openvino-torch", "c0", "unsupported", check="grad"))
    # a converter path whose source is not in the run is not compared
    records.append(_record("jax2tf", "c0", "pass"))
    (row,) = fidelity.compare(records)
    assert registry.target("openvino-torch").source == "torch"
    assert (row.target, row.source) == ("openvino-torch", "torch")
    expected = {c: list(PAIRS.values()).count(c) for c in fidelity.CATEGORIES}
    assert row.counts == expected
    assert row.beyond_source == 1
    assert row.not_offered == ["grad"]
    assert row.source_diverges == 5  # same divergence, corrected, changed, 2 undiagnosed
    assert row.examples["introduced"][0]["known"] == "openvino-torch-entry"


def test_every_converter_path_names_a_registered_source():
    for name, t in registry.TARGETS.items():
        if t.converter:
            assert t.source in registry.TARGETS and not registry.TARGETS[t.source].converter, name


def test_the_report_and_summary_show_the_comparison(tmp_path):
    with ResultWriter(tmp_path / "results.jsonl") as w:
        for backend, status in (("torch", "pass"), ("torch-onnx-dynamo", "known_divergence")):
            w.write(
                Result(
                    case_id="max-2d-nan",
                    suite="t",
                    spec={"op": "max"},
                    input_shape=[1, 1, 4, 4],
                    dtype="float32",
                    family="nan",
                    backend=backend,
                    backend_version="1",
                    device="cpu",
                    check="forward",
                    status=status,
                    diagnosis=NAN if status != "pass" else None,
                )
            )
    (tmp_path / "environment.json").write_text(json.dumps({"run_id": "r", "suite": "t"}))
    write_report(tmp_path)
    html = (tmp_path / "report.html").read_text()
    assert 'id="fidelity"' in html and "torch.onnx (dynamo) → onnxruntime" in html
    (row,) = json.loads((tmp_path / "summary.json").read_text())["converter_fidelity"]
    assert row["target"] == "torch-onnx-dynamo" and row["counts"]["introduced"] == 1
