"""What a run comes to: exit status, the terminal summary, summary.json, pytest's failure text,
the compatibility map and the unsupported rules (issue 15)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from conformance import compat, features, reasons, summary
from conformance.report import write_report
from tests.fake_backends import environment
from tests.synthetic_run import write

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str, fakes: tuple[str, ...] = (), columns: int = 80, timeout: int = 600):
    env = {**environment(*fakes), "COLUMNS": str(columns), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "conformance", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )


def test_a_run_with_nothing_to_compare_exits_2(tmp_path):
    """`run --backends numpy`: the reference alone runs only cases with hand-worked values, so
    the default suite gives no task at all; and a target that supports nothing compares nothing."""
    out = _run("run", "--backends", "numpy", "--out", str(tmp_path / "a"))
    assert out.returncode == 2, out.stdout + out.stderr
    assert "nothing to compare" in out.stderr and "--suite seeds" in out.stderr
    out = _run(
        "run",
        "--suite",
        "seeds",
        "--backends",
        "fake-nothing",
        "--out",
        str(tmp_path / "b"),
        fakes=("fake-nothing",),
    )
    assert out.returncode == 2, out.stdout + out.stderr
    assert "nothing was compared" in out.stderr
    verdict = json.loads((tmp_path / "b" / "summary.json").read_text())["verdict"]
    assert verdict["state"] == "nothing" and verdict["compared"] == 0


def test_exit_1_lists_the_failing_results_with_a_show_command_in_80_columns(tmp_path):
    out = _run(
        "run",
        "--suite",
        "witnesses",
        "--backends",
        "fake-cip-flipped",
        "--out",
        str(tmp_path / "run"),
        fakes=("fake-cip-flipped",),
    )
    assert out.returncode == 1, out.stderr[-2000:]
    # (the closing "results:"/"report:" lines name the user's own paths)
    lines = [line for line in out.stdout.splitlines() if not line.startswith(("results:", "report:"))]
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    assert any(line.startswith("FAIL: ") for line in lines)
    failing = [
        r for r in map(json.loads, (tmp_path / "run" / "results.jsonl").open()) if r["status"] == "mismatch"
    ]
    assert failing
    # each as one command once the shell continuations are joined
    joined = " ".join(out.stdout.replace(" \\\n", " ").split())
    for r in failing:
        assert summary.show_command(r) in joined
    # summary.json agrees: per target counts, the failing list with the same commands
    data = json.loads((tmp_path / "run" / "summary.json").read_text())
    target = data["targets"][next(iter(data["targets"]))]
    assert sum(target["classes"].values()) == target["results"]
    assert target["classes"]["failing"] == len(failing) == len(data["failing"])
    assert {f["show"] for f in data["failing"]} == {summary.show_command(r) for r in failing}
    assert data["verdict"]["state"] == "fail"
    causes = target["root_causes"]
    assert causes and all(c["status"] == "mismatch" for c in causes)
    assert data["map"]["padding_in_divisor"][next(iter(data["targets"]))] == "unexpected"
    md = (tmp_path / "run" / "summary.md").read_text()  # the CI step summary: verdict and map
    assert "**FAIL: " in md and "## Compatibility map" in md
    row = next(line for line in md.splitlines() if line.startswith("| padding in the average"))
    assert "✗ **fails**" in row


def test_the_terminal_summary_fits_80_columns_at_any_scale(tmp_path):
    folder = write(tmp_path / "nightly", 3000)
    text = write_report(folder)
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "keras-tensorflow" in text  # every target has its line
    assert text.count("\n") < 80  # the failing list is capped, not every result


def test_pytest_failure_shows_the_diagnosis_not_the_record(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/test_parity.py",
            "-q",
            "-n",
            "0",
            "-p",
            "no:cacheprovider",
            "--suite",
            "witnesses",
            "--backends",
            "fake-cip-flipped",
            "-k",
            "witness-exclude-pad-average-float32",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=environment("fake-cip-flipped"),
        cwd=ROOT,
    )
    assert out.returncode == 1, out.stdout[-3000:]
    assert (
        "diagnosis: matches reference with count_include_pad the other way round [cip_flipped]" in out.stdout
    )
    assert "inspect: conformance show witness-exclude-pad-average-float32" in out.stdout
    assert "Result(" not in out.stdout and "np.float" not in out.stdout


def _record(backend: str, status: str, feats: list[str], **extra) -> dict:
    return {
        "backend": backend,
        "backend_version": "1",
        "framework": backend,
        "status": status,
        "features": feats,
        "check": "forward",
        "case_id": f"c{len(extra)}",
        **extra,
    }


def test_map_cells_from_hand_made_records():
    """Each state from records whose outcome is known by construction."""
    records = [
        _record("torch", "pass", ["dilation"]),
        _record("torch", "known_divergence", ["nan"], diagnosis="x [nan_ignored]", message="known"),
        _record("torch", "pass", ["nan"]),
        _record("jax", "unsupported", ["dilation"], message="jax has no dilation"),
        _record("jax", "unsupported", ["nan"], message="JAX pools channels-last only"),
        _record("jax", "pass", ["nan"]),
        _record("jax", "mismatch", ["dilation", "nan"], diagnosis=None, message="m"),
    ]
    cause_of = {id(records[1]): {"cause": "torch-nan", "digest": "d0", "example": "r1"}}
    cmap = compat.build(records, cause_of)
    labels = [c["label"] for c in cmap["columns"]]
    assert labels == ["torch 1", "jax 1"]  # the registry's order: torch before jax
    cells = {row["id"]: dict(zip(labels, row["cells"], strict=True)) for row in cmap["rows"]}
    assert cells["dilation"]["torch 1"].state == "agrees"
    assert cells["nan"]["torch 1"].state == "diverges"
    assert cells["nan"]["torch 1"].causes == [
        {"cause": "torch-nan", "digest": "d0", "example": "r1", "count": 1}
    ]
    # a mismatch exercising two features, named by neither witness: unattributed, so the map
    # does not guess which of them failed
    assert cells[features.UNATTRIBUTED]["jax 1"].state == "unexpected"
    assert cells["dilation"]["jax 1"].state == "untested"  # only unsupported and a failure
    # not expressible: the reason most specific to the feature (by lift), on hover
    only_uns = [
        _record("jax", "unsupported", ["dilation"], message="jax has no dilation"),
        *[
            _record("jax", "unsupported", ["dilation", "baseline"], message="JAX pools channels-last only")
            for _ in range(1)
        ],
        *[
            _record("jax", "unsupported", ["baseline"], message="JAX pools channels-last only")
            for _ in range(20)
        ],
    ]
    cmap = compat.build(only_uns, {})
    row = next(r for r in cmap["rows"] if r["id"] == "dilation")
    assert row["cells"][0].state == "not_expressible"
    assert row["cells"][0].reason == "jax has no dilation"


def test_every_reference_variant_and_every_known_entry_is_explained_by_a_feature():
    """The map cannot silently drop a kind of divergence: a new variant or a known entry that no
    feature names fails here (add it to a feature's variants or keys)."""
    from backends.numpy import VARIANTS
    from conformance import known
    from conformance.registry import names

    assert {v for f in features.FEATURES for v in f.variants} >= set(VARIANTS)
    orphans = []
    for backend in names():
        for entry in known.load(backend):
            if not any(
                f.named_by_variants(entry.when) or f.named_by_condition(entry.when, entry.checks)
                for f in features.FEATURES
            ):
                orphans.append(f"{backend}: {entry.id}")
    assert not orphans, orphans


def test_features_of_a_case_come_from_its_facts():
    from conformance.case import Case
    from conformance.spec import PoolSpec

    spec = PoolSpec(op="avg", kernel=(3,), stride=(2,), padding=((1, 1),), ceil_mode=True)
    case = Case(spec, (1, 1, 6), dtype="float16", family="nan")
    assert set(features.for_task(case, "forward", "cpu")) >= {
        "ceil_mode",
        "ceil_overhang",
        "padding_in_divisor",
        "explicit_padding",
        "nan",
        "half_precision",
    }
    assert "grad_nan" in features.for_task(case, "grad", "cpu")
    plain = Case(PoolSpec(op="max", kernel=(2,), stride=(2,)), (1, 1, 4), dtype="float32")
    assert features.for_task(plain, "forward", "cpu") == [features.BASELINE]


def test_unsupported_reasons_group_by_rule():
    torch = "torch rejects it: NotImplementedError: "
    messages = Counter(
        {
            "ONNX MaxPool takes float16, float, double, not int32": 3,
            "ONNX MaxPool takes float16, float, double, not int64": 2,
            "keras-jax has no max-unpooling API": 4,
            "flax has no max-unpooling API": 1,
            torch + "\"max_pool2d\" not implemented for 'Char'": 1,
            torch + "\"max_unpool3d\" not implemented for 'Long'": 1,
        }
    )
    rows = reasons.group(messages)
    assert [(r["rule"], r["count"]) for r in rows] == [
        ("ONNX MaxPool takes float16, float, double, not {int32|int64}", 5),
        ("{flax|keras-jax} has no max-unpooling API", 5),
        (
            'torch rejects it: NotImplementedError: "{max_pool2d|max_unpool3d}" not implemented '
            "for '{Char|Long}'",
            2,
        ),
    ]


@pytest.mark.parametrize(
    "text,expected",
    [("got np.float32(0.5), expected np.float64(-inf)", "got 0.5, expected -inf"), (None, "")],
)
def test_report_text_is_clean(text, expected):
    from conformance.report import clean

    assert clean(text) == expected


def test_a_merged_report_shows_every_version_of_a_framework(tmp_path):
    """Two environments with other JAX versions: both versions in the header's environment
    table (with each environment's framework versions) and as two columns of the map."""
    old = write(tmp_path / "tox-jax-old", 240)
    new = write(tmp_path / "tox-jax-new", 240)
    for folder, version in ((old, "0.4.30"), (new, "0.10.2")):
        env = json.loads((folder / "environment.json").read_text())
        env["backends"]["jax"]["version"] = version
        env["frameworks"] = {"jax": version, "numpy": "2.4"}
        (folder / "environment.json").write_text(json.dumps(env))
        lines = [json.loads(line) for line in (folder / "results.jsonl").open()]
        for r in lines:
            if r["backend"] == "jax":
                r["backend_version"] = version
        (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    out = _run("report", str(old), str(new), "-o", str(tmp_path / "merged"))
    assert out.returncode == 0, out.stderr[-2000:]
    html = (tmp_path / "merged" / "report.html").read_text()
    environment_table = html[html.index('id="versions"') :]
    assert "jax 0.4.30" in environment_table and "jax 0.10.2" in environment_table
    assert str(old) in environment_table and str(new) in environment_table
    data = json.loads((tmp_path / "merged" / "summary.json").read_text())
    assert {"jax 0.4.30", "jax 0.10.2"} <= set(data["targets"])
    assert {"jax 0.4.30", "jax 0.10.2"} <= set(next(iter(data["map"].values())))
