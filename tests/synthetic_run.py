"""A synthetic run folder of any size, shaped like a nightly run over a dozen targets.

For the report's scale test: the records are written straight to results.jsonl (no target is
called), with the mix a real default run has (about 60 % unsupported, 35 % pass, a few % known
divergences with drill-down evidence, a handful of unexpected mismatches), distinct case ids per
~14 results, messages with the variety of real ones (per-case counts in mismatch messages).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

TARGETS = [
    ("torch", "torch", "2.13.0"),
    ("torch-compile", "torch", "2.13.0"),
    ("tensorflow", "tensorflow", "2.21.0"),
    ("tensorflow-graph", "tensorflow", "2.21.0"),
    ("tensorflow-xla", "tensorflow", "2.21.0"),
    ("jax", "jax", "0.10.2"),
    ("keras-tensorflow", "keras", "3.15.1"),
    ("keras-jax", "keras", "3.15.1"),
    ("keras-torch", "keras", "3.15.1"),
    ("flax", "flax", "0.12.8"),
    ("onnxruntime", "onnxruntime", "1.32.0"),
    ("openvino", "openvino", "2026.4.1"),
]
CHECKS = ["forward", "grad", "indices", "invariant", "determinism", "default_stride"]
FAMILIES = ["distinct", "ties", "nan", "inf", "signed_zero", "near_underflow", "near_overflow"]
DTYPES = ["float32", "float16", "bfloat16", "float64", "int8", "int32"]
FEATURE_SETS = [
    ["baseline"],
    ["ceil_mode"],
    ["padding_in_divisor", "explicit_padding"],
    ["same_padding", "same_split"],
    ["dilation"],
    ["nan", "channels_last"],
    ["grad_nan", "gradient"],
    ["subnormal", "three_d"],
    ["adaptive"],
    ["indices", "ties"],
    ["overflow", "half_precision"],
    ["invariants"],
]
UNSUPPORTED = [
    "{t} has no dilation",
    "{t} computes no gradients",
    "{t} has no max-unpooling API",
    "{t} takes 'valid' or 'same' padding only",
    "{t} has no adaptive pooling",
    "ONNX MaxPool takes float16, float, double, int8, uint8, not {d}",
]


def write(folder: Path, results: int, seed: int = 0) -> Path:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(results):
        backend, framework, version = TARGETS[i % len(TARGETS)]
        case_no = i // len(TARGETS)
        dtype, family = DTYPES[case_no % len(DTYPES)], FAMILIES[case_no % len(FAMILIES)]
        kernel = [2 + case_no % 3, 2 + case_no % 2]
        case_id = (
            f"max-2d-k{kernel[0]}x{kernel[1]}-s1x1-p0,0-cf-{dtype}-2x3x{8 + case_no % 5}x9-{family}-{case_no}"
        )
        check = CHECKS[case_no % len(CHECKS)]
        roll = rng.random()
        record = {
            "case_id": case_id,
            "suite": "default",
            "backend": backend,
            "backend_version": version,
            "framework": framework,
            "mode": "eager",
            "device": "cpu",
            "check": check,
            "dtype": dtype,
            "family": family,
            "input_shape": [2, 3, 8 + case_no % 5, 9],
            "spec": {
                "op": "max",
                "kernel": kernel,
                "stride": [1, 1],
                "padding": [[0, 0], [0, 0]],
                "dilation": [1, 1],
                "ceil_mode": False,
                "layout": "channels_first",
                "ndim": 2,
            },
            "features": FEATURE_SETS[case_no % len(FEATURE_SETS)],
            "expected_from": "reference",
            "max_abs_err": None,
            "max_ulp_err": None,
            "mismatch_count": 0,
            "diagnosis": None,
            "known": None,
            "note": "",
            "seconds": 0.01,
            "extra": {},
            "message": "",
        }
        if roll < 0.60:
            record.update(
                status="unsupported",
                message=UNSUPPORTED[case_no % len(UNSUPPORTED)].format(t=backend, d=dtype),
            )
        elif roll < 0.955:
            record.update(status="pass", max_abs_err=0.0, max_ulp_err=0.0)
        else:
            bad = 1 + case_no % 40
            entry = f"{backend}-divergence-{case_no % 9}"
            expected = roll < 0.9995
            record.update(
                status="known_divergence" if expected else "mismatch",
                max_abs_err=0.5 * bad,
                max_ulp_err=float(bad),
                mismatch_count=bad,
                diagnosis="matches reference with count_include_pad the other way round [cip_flipped]",
                known={
                    "id": entry,
                    "reason": "synthetic",
                    "link": f"https://github.com/example/{backend}/issues/{case_no % 9}",
                }
                if expected
                else None,
                message=f"{bad} of 216 elements differ; first at (0, 0, 1, {case_no % 9}): got 1.5, "
                "expected 2.0",
                extra={
                    "expected": [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]],
                    "actual": [[1.0, 2.5, 3.0], [4.0, 5.0, 6.5]],
                    "mask": [[0, 1, 0], [0, 0, 1]],
                    "heat": [[0, 1, 0], [0, 0, 2]],
                    "reproducer": "import torch\n# " + "x" * 600,
                },
            )
        lines.append(json.dumps(record, sort_keys=True))
    (folder / "results.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "environment.json").write_text(
        json.dumps(
            {
                "run_id": folder.name,
                "suite": "default",
                "seed": seed,
                "partial": False,
                "python": "3.11",
                "numpy": "2.4",
                "backends": {t: {"version": v, "devices": ["cpu"]} for t, _, v in TARGETS},
            }
        )
    )
    return folder
