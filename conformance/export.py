"""`conformance export`: a suite's cases with their reference answers, as files any runtime can
consume without this project.

Layout of the bundle (DIR):

    manifest.json                  what is here: every case, its spec, and where it went
    check_onnx.py                  runs every ONNX folder with onnxruntime and compares
                                   (needs numpy, onnx and onnxruntime only)
    npz/<case_id>.npz              input, upstream_grad, output (the reference's), grad
                                   (the reference vjp; absent for integer dtypes), and
                                   output_tolerance / grad_tolerance (absolute, per element)
    onnx/<case_id>/model.onnx      a single-node MaxPool/AveragePool model (backends/onnx_model.py)
    onnx/<case_id>/test_data_set_0/input_0.pb, output_0.pb
                                   ONNX TensorProtos: the layout ONNX's and ONNX Runtime's own
                                   backend-test runners read

ONNX pools NCHW: a channels_last case's input_0/output_0 are the NCHW transposes of its .npz
arrays (`transposed_to_nchw` in the manifest). A case ONNX cannot express (divisor_override, an
int16/int32/int64 dtype, ...) has no ONNX folder; the manifest says why. Error-parity cases
have no reference output and are listed with that reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from conformance import checks, packages
from conformance.case import Case
from conformance.compare import allowed_error
from conformance.dtypes import is_float, name_of
from conformance.errors import Unsupported, UsageError
from conformance.spec import SEMANTICS_VERSION


def export(cases, out: Path, *, suite: str, seed: int, project_version: str) -> dict:
    """Write the bundle for `cases` into `out` (which must be empty or absent); the manifest."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise UsageError(f"--out {out} is not empty; export writes a fresh bundle")
    (out / "npz").mkdir(parents=True, exist_ok=True)
    entries = []
    for case in cases:
        if not isinstance(case, Case):
            entries.append(
                {
                    "case_id": case.id,
                    "exported": False,
                    "reason": "an error-parity case: the semantics give no output",
                }
            )
            continue
        entries.append(_export_case(case, out))
    manifest = {
        "format": "pooling-conformance export 1",
        "comparison": "max pooling: bit-exact (NaN equals NaN, the sign of zero counts); average "
        "pooling and gradients: |actual - expected| <= the npz's *_tolerance "
        "elementwise, infinities and NaN in the same places",
        "suite": suite,
        "seed": seed,
        "semantics_version": SEMANTICS_VERSION,
        "project_version": project_version,
        "cases": entries,
        "counts": {
            "cases": len(entries),
            "npz": sum(bool(e.get("npz")) for e in entries),
            "onnx": sum(bool(e.get("onnx")) for e in entries),
        },
    }
    (out / "check_onnx.py").write_text(Path(__file__).with_name("bundle_check.py").read_text())
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest


def _export_case(case: Case, out: Path) -> dict:
    x, y = case.make_input(), checks.cached_reference(case, "forward")
    arrays = {"input": x, "output": y, "output_tolerance": _tolerance(y, case, "forward")}
    if is_float(case.dtype):
        gx = checks.cached_reference(case, "grad")
        arrays |= {
            "upstream_grad": case.make_upstream(),
            "grad": gx,
            "grad_tolerance": _tolerance(gx, case, "grad"),
        }
    npz = f"npz/{case.id}.npz"
    np.savez(out / npz, **{k: _storable(v) for k, v in arrays.items()})
    entry = {
        "case_id": case.id,
        "exported": True,
        "spec": case.spec.to_json(),
        "input_shape": list(case.input_shape),
        "output_shape": list(y.shape),
        "dtype": case.dtype,
        "family": case.family,
        "suite": case.suite,
        "npz": npz,
        "bfloat16_stored_as": "float32" if case.dtype == "bfloat16" else None,
    }
    try:
        entry |= _write_onnx(case, x, y, out)
    except Unsupported as exc:
        entry |= {"onnx": None, "onnx_reason": exc.reason}
    return entry


def _tolerance(expected: np.ndarray, case: Case, check: str) -> np.ndarray:
    """Per element, the absolute error the check allows (float64; 0 = bit-exact): the rule of
    conformance.compare at the scale conformance.checks uses."""
    if (check == "forward" and case.spec.kind.selects) or not is_float(case.dtype):
        return np.zeros(expected.shape)
    return allowed_error(expected, checks.scale(case, check), name_of(expected.dtype))


def _storable(a: np.ndarray) -> np.ndarray:
    """.npz has no bfloat16: such arrays are stored as float32 (exactly; the manifest says so)."""
    return a.astype(np.float32) if a.dtype.name == "bfloat16" else a


def _write_onnx(case: Case, x: np.ndarray, y: np.ndarray, out: Path) -> dict:
    import onnx  # noqa: PLC0415 (lazy: framework (onnx is an extra))
    from onnx import numpy_helper  # noqa: PLC0415 (lazy: framework (onnx is an extra))

    onnx_model = packages.load("backends.onnx_model")
    pm = onnx_model.build(case.spec, case.input_shape, case.dtype)
    folder = out / "onnx" / case.id
    data = folder / "test_data_set_0"
    data.mkdir(parents=True, exist_ok=True)
    onnx.save_model(pm.model, folder / "model.onnx")
    for name, tensor, array in (("input_0", "x", x), ("output_0", "y", y)):
        array = onnx_model.to_model_layout(case.spec, array)
        (data / f"{name}.pb").write_bytes(numpy_helper.from_array(array, tensor).SerializeToString())
    return {
        "onnx": f"onnx/{case.id}",
        "onnx_node": pm.describe(),
        "opset": pm.opset,
        "transposed_to_nchw": pm.transposed,
    }
