"""The target model (DESIGN.md §6): names, framework and mode in records, the default-stride
check against each target's documented default, inherited known divergences, own-process
targets, and the compiled modes on the witnesses."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cases import get_suite
from conformance import Case, PoolSpec, known, registry, runner
from conformance.isolation import WorkerPool
from conformance.results import Result
from tests.fake_backends import environment

SECTION_6 = [
    "numpy",
    "torch",
    "torch-compile",
    "tensorflow",
    "tensorflow-graph",
    "tensorflow-xla",
    "jax",
    "keras-tensorflow",
    "keras-jax",
    "keras-torch",
    "flax",
    "onnxruntime",
    "openvino",
    "litert",
]
RUNTIMES = ("onnxruntime", "openvino", "litert", "litert-builtin")


def test_every_section_6_target_of_this_round_is_registered():
    assert [n for n in registry.builtin() if n in SECTION_6] == SECTION_6
    out = subprocess.run(
        [sys.executable, "-m", "conformance", "list"], capture_output=True, text=True, timeout=600
    )
    for name in SECTION_6:  # available with a version, or unavailable with the reason
        assert any(line.split()[:1] == [name] for line in out.stdout.splitlines()), name


def test_records_carry_framework_and_mode_without_importing_anything():
    r = Result(
        case_id="c",
        suite="s",
        spec={},
        input_shape=[1],
        dtype="float32",
        family="distinct",
        backend="torch-compile",
        backend_version="",
        device="cpu",
        check="forward",
        status="crash",
    )
    assert (r.framework, r.mode) == ("torch", "compile")
    assert (registry.target("keras-jax").framework, registry.target("keras-jax").mode) == ("keras", "layer")
    assert registry.target("someone-elses").framework == "someone-elses"


@pytest.fixture
def fakes():
    names = {
        "fake-stride-one": "tests.fake_backends:StrideOneBackend",
        "fake-misdocumented-stride": "tests.fake_backends:MisdocumentedStrideBackend",
    }
    for name, path in names.items():
        registry.register(name, path)
    yield
    for name in names:
        registry._extra.pop(name)
        registry._loaded.pop(name, None)


def test_default_stride_is_checked_against_the_documented_default(fakes):
    case = Case(PoolSpec(op="max", kernel=2), (1, 1, 6, 6), checks=("default_stride",))
    ok = runner.run_check(case, "fake-stride-one", "default_stride")
    assert ok.status == "pass"
    assert ok.extra["default_stride"] | {"api": ""} == {
        "api": "",
        "documented": "1",
        "measured": "1",
        "equals_kernel": False,
    }
    wrong = runner.run_check(case, "fake-misdocumented-stride", "default_stride")
    assert wrong.status == "shape_mismatch"  # stride 1 where the documentation says the kernel
    assert wrong.extra["default_stride"]["measured"] == "1"


def test_the_seed_claim_is_an_erratum_where_the_default_is_one(fakes):
    seed = {c.id: c for c in get_suite("seeds")}["seed000-maxpool2d-3-default-stride"]
    result = runner.run_check(seed, "fake-stride-one", "default_stride")
    assert result.status == "pass"  # compared with the reference at stride 1, not the seed value
    assert "does not hold for fake-stride-one" in result.extra["default_stride"]["erratum"]


def test_modes_inherit_their_eager_siblings_known_divergences(tmp_path):
    ids = {e.id for e in known.load("tensorflow-graph")}
    skipped = {
        "tf-cpu-max-pool3d-grad-all-near-max",
        "tf-avg-empty-output-for-oversized-window",
        "tf-eigen-empty-output-for-oversized-window",
    }
    own = {"tf-graph-max-grad-nan-windows", "tf-graph-eigen-max-pool3d-grad-all-near-max"}
    assert {e.id for e in known.load("tensorflow")} - skipped == ids - own
    assert not skipped & ids
    xla = {e.id for e in known.load("tensorflow-xla")}
    assert "tf-xla-rejects-explicit-padding" in xla


def test_own_process_targets_get_a_worker_each(monkeypatch):
    monkeypatch.setitem(
        registry.TARGETS,
        "fake-pid-a",
        registry.Target("tests.fake_backends:PidBackend", "fake", own_process=True),
    )
    monkeypatch.setitem(
        registry.TARGETS,
        "fake-pid-b",
        registry.Target("tests.fake_backends:PidBackend", "fake", own_process=True),
    )
    extra = {n: "tests.fake_backends:PidBackend" for n in ("fake-pid-a", "fake-pid-b", "fake-pid")}
    case = Case(PoolSpec(op="max", kernel=2), (1, 1, 4, 4), checks=("forward",))
    pool = WorkerPool(1, extra_backends=extra)
    try:
        tasks = [(case, name, "forward", "cpu") for name in ("fake-pid", "fake-pid-a", "fake-pid-b")]
        pids = set()
        for result in pool.run(tasks):
            assert result.status == "mismatch"  # a pid is not the maximum
            pids.add(json.dumps(result.extra.get("actual")))
        assert len(pids) == 3  # three processes answered
        assert set(pool.own) == {"fake-pid-a", "fake-pid-b"}
        assert (
            len(
                {
                    pool.own["fake-pid-a"].process.pid,
                    pool.own["fake-pid-b"].process.pid,
                    pool.workers[0].process.pid,
                }
            )
            == 3
        )
    finally:
        pool.close()


def _witness_run(targets: list[str], out) -> list[dict]:
    """`conformance run --suite witnesses` on the targets: it must exit 0; its records."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance",
            "run",
            "--suite",
            "witnesses",
            "--backends",
            ",".join(targets),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def test_compiled_modes_on_the_witnesses(tmp_path):
    wanted = [
        n for n in ("torch-compile", "tensorflow-graph", "tensorflow-xla") if registry.reason(n) is None
    ]
    if not wanted:
        pytest.skip("torch and tensorflow are not installed")
    records = _witness_run(wanted, tmp_path)
    assert {r["backend"] for r in records} == set(wanted)
    assert all(r["mode"] in ("compile", "graph", "xla") for r in records)


def test_runtimes_on_the_witnesses_record_their_native_call(tmp_path):
    wanted = [n for n in RUNTIMES if registry.reason(n) is None]
    if not wanted:
        pytest.skip("no deployment runtime is installed")
    records = _witness_run(wanted, tmp_path)
    assert {r["mode"] for r in records} == {"runtime"}
    assert all(r["status"] == "unsupported" for r in records if r["check"] == "grad")
    ran = [r for r in records if r["check"] == "forward" and r["status"] != "unsupported"]
    assert ran and all("runtime" in r["extra"]["native_call"] for r in ran)
    onnx_calls = [
        r["extra"]["native_call"]["node"] for r in ran if r["backend"] in ("onnxruntime", "openvino")
    ]
    # an ONNX node at its opset, or (OpenVINO's adaptive pooling) a node of its own graph API
    assert all(" at opset " in node or "OpenVINO's graph API" in node for node in onnx_calls)
    assert any(" at opset " in node for node in onnx_calls)


def test_keras_targets_run_in_pytest_in_their_own_processes(tmp_path):
    import importlib.util

    needs = {"keras-tensorflow": "tensorflow", "keras-jax": "jax", "keras-torch": "torch"}
    wanted = [
        n for n, fw in needs.items() if importlib.util.find_spec("keras") and importlib.util.find_spec(fw)
    ]
    if not wanted:
        pytest.skip("keras is not installed")
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
            "seeds",
            "--backends",
            ",".join(wanted),
            "--results",
            str(tmp_path / "r.jsonl"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env=environment(),
    )
    assert out.returncode == 0, out.stdout[-3000:]
    records = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert {r["backend"] for r in records} == set(wanted)  # all three in one pytest process
    assert not any(r["status"] == "error" for r in records)


def test_torch_compile_keeps_its_cache_folder_after_an_export_in_its_process(tmp_path):
    """torch.export writes inductor's default folder (shared by every ISA setting) into
    TORCHINDUCTOR_CACHE_DIR; torch-compile loaded after it in the same worker must still
    compile into its own folder per CPU kernel key (a native run's kernels read under a reduced
    ISA gave wrong float64 and bfloat16 results on CI)."""
    if registry.reason("torch-compile") is not None:
        pytest.skip("torch is not installed")
    script = (
        "import os, torch\n"
        "torch.export.export(torch.nn.MaxPool1d(2), (torch.ones(1, 1, 4),))\n"
        "exported = os.environ.get('TORCHINDUCTOR_CACHE_DIR')\n"
        "from conformance import registry, cpu\n"
        "registry.get('torch-compile')\n"
        "print(exported, os.environ['TORCHINDUCTOR_CACHE_DIR'], cpu.kernel_key())\n"
    )
    env = {**environment(), "CONFORMANCE_INDUCTOR_CACHE": str(tmp_path)}
    env.pop("TORCHINDUCTOR_CACHE_DIR", None)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    exported, used, key = out.stdout.split()[-3:]
    assert exported != str(tmp_path / key)  # the export did set torch's own default
    assert used == str(tmp_path / key)
