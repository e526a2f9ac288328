"""Check an exported bundle's ONNX folders with ONNX Runtime: numpy, onnx and onnxruntime only.

This file is copied into every bundle as check_onnx.py and imports nothing of the project that
wrote the bundle. Usage: python check_onnx.py [BUNDLE_DIR] [--json]. For each case with an ONNX
folder it runs model.onnx on test_data_set_0/input_0.pb with ONNX Runtime's CPU provider and
compares with output_0.pb by the manifest's rule; it prints one line per disagreement and a
count, and exits 0 when every case agrees, 1 otherwise (--json prints {case_id: verdict}).
"""

import json
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper


def _load(path: Path) -> np.ndarray:
    tensor = onnx.TensorProto()
    tensor.ParseFromString(path.read_bytes())
    return numpy_helper.to_array(tensor)


def _nchw(a: np.ndarray, transposed: bool) -> np.ndarray:
    return np.moveaxis(a, -1, 1) if transposed else a


def verdict(bundle: Path, entry: dict) -> str:
    folder = bundle / entry["onnx"]
    x = _load(folder / "test_data_set_0" / "input_0.pb")
    expected = _load(folder / "test_data_set_0" / "output_0.pb")
    try:
        options = ort.SessionOptions()
        options.log_severity_level = 3  # the shape-inference warnings are not the verdict
        session = ort.InferenceSession(
            str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        (actual,) = session.run(None, {session.get_inputs()[0].name: x})
    except Exception as exc:  # the runtime's reaction is the verdict
        return f"error: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    if actual.shape != expected.shape:
        return f"shape {actual.shape}, expected {expected.shape}"
    if actual.dtype != expected.dtype:
        return f"dtype {actual.dtype}, expected {expected.dtype}"
    tolerance = _nchw(np.load(bundle / entry["npz"])["output_tolerance"], entry["transposed_to_nchw"])
    a, e = actual.astype(np.float64), expected.astype(np.float64)
    with np.errstate(invalid="ignore"):
        same_nan = np.isnan(a) & np.isnan(e)
        same_inf = np.isinf(a) & np.isinf(e) & (np.sign(a) == np.sign(e))
        exact = (a == e) & (np.signbit(a) == np.signbit(e))
        close = np.isfinite(a) & np.isfinite(e) & (np.abs(a - e) <= tolerance) & (tolerance > 0)
    bad = ~(same_nan | same_inf | exact | close)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        return (
            f"{int(bad.sum())} of {bad.size} elements differ; first at {first}: "
            f"got {actual[first]}, expected {expected[first]}"
        )
    return "agrees"


def main(argv: list[str]) -> int:
    bundle = Path(next((a for a in argv if not a.startswith("--")), Path(__file__).parent))
    manifest = json.loads((bundle / "manifest.json").read_text())
    verdicts = {e["case_id"]: verdict(bundle, e) for e in manifest["cases"] if e.get("onnx")}
    if "--json" in argv:
        print(json.dumps(verdicts, indent=1, sort_keys=True))
    else:
        for case_id, v in verdicts.items():
            if v != "agrees":
                print(f"{case_id}: {v}")
        agree = sum(v == "agrees" for v in verdicts.values())
        print(
            f"onnxruntime {ort.__version__}: {agree} of {len(verdicts)} cases agree with the "
            f"reference outputs"
        )
    return 0 if all(v == "agrees" for v in verdicts.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
