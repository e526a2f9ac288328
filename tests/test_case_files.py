"""Case files: read with safe loaders, every malformed value named with file, line and field."""

from __future__ import annotations

import pytest

from cases.files import load_cases
from conformance import UsageError

GOOD_TOML = """
[[case]]
name = "resnet-stem"
op = "max"
kernel = [3, 3]
stride = [2, 2]
padding = 1
input_shape = [1, 4, 9, 9]

[[case]]
op = "avg"
kernel = 2
padding = [[0, 1], [1, 0]]
count_include_pad = false
input_shape = [2, 3, 6, 6]
dtype = "float16"
family = "ties"
"""


def test_toml_json_and_yaml_give_the_same_cases(tmp_path):
    (tmp_path / "c.toml").write_text(GOOD_TOML)
    (tmp_path / "c.json").write_text(
        '{"case": [{"name": "resnet-stem", "op": "max", "kernel": [3, 3],'
        ' "stride": [2, 2], "padding": 1, "input_shape": [1, 4, 9, 9]}]}'
    )
    (tmp_path / "c.yaml").write_text(
        "case:\n  - name: resnet-stem\n    op: max\n    kernel: [3, 3]\n"
        "    stride: [2, 2]\n    padding: 1\n    input_shape: [1, 4, 9, 9]\n"
    )
    toml = load_cases(tmp_path / "c.toml")
    assert len(toml) == 2 and toml[1].spec.padding == ((0, 1), (1, 0)) and toml[1].dtype == "float16"
    for name in ("c.json", "c.yaml"):
        (case,) = load_cases(tmp_path / name)
        assert case.id == toml[0].id and case.spec == toml[0].spec


@pytest.mark.parametrize(
    ("text", "suffix", "needles"),
    [
        (
            GOOD_TOML.replace('op = "avg"', 'op = "min"'),
            ".toml",
            [":10:", "case[1]", "op='min'", "'max', 'avg'"],
        ),
        (GOOD_TOML.replace("kernel = 2", "kernel = -2"), ".toml", ["case[1]", "kernel=-2", ">= 1"]),
        (GOOD_TOML.replace('family = "ties"', 'colour = "red"'), ".toml", ["colour", "allowed"]),
        (
            GOOD_TOML.replace("input_shape = [1, 4, 9, 9]", ""),
            ".toml",
            ["case[0]", "input_shape is required"],
        ),
        (
            GOOD_TOML.replace("input_shape = [2, 3, 6, 6]", 'input_shape = "big"'),
            ".toml",
            ["input_shape='big'", "list of ints"],
        ),
        ("[[case]\nop = ", ".toml", ["not valid TOML"]),
        ('{"case": [{"op": "max",}]}', ".json", [":1:", "not valid JSON"]),
        ("case:\n  - op: [max\n", ".yaml", ["not valid YAML"]),
        ("case: !!python/object/apply:os.system ['echo hacked']\n", ".yaml", ["not valid YAML"]),
        ('{"cases": []}', ".json", ["list of cases under the key 'case'"]),
        ("x = 1", ".ini", ["unknown case-file type"]),
    ],
)
def test_malformed_files_name_the_problem(tmp_path, text, suffix, needles):
    path = tmp_path / f"bad{suffix}"
    path.write_text(text)
    with pytest.raises(UsageError) as info:
        load_cases(path)
    message = str(info.value)
    assert str(path) in message
    for needle in needles:
        assert needle in message, (needle, message)


def test_cli_runs_a_case_file_and_rejects_a_bad_one(tmp_path):
    import subprocess
    import sys

    from tests.fake_backends import environment

    good = tmp_path / "good.toml"
    good.write_text(GOOD_TOML)
    # (the reference alone would compare nothing here: exit 2; a target that agrees: exit 0)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance",
            "run",
            "--suite",
            str(good),
            "--backends",
            "fake-exact",
            "--no-isolate",
            "--out",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment("fake-exact"),
    )
    assert out.returncode == 0, out.stderr[-1000:]
    assert '"status": "pass"' in (tmp_path / "run" / "results.jsonl").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD_TOML.replace('op = "avg"', "op = 3"))
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance",
            "run",
            "--suite",
            str(bad),
            "--backends",
            "numpy",
            "--out",
            str(tmp_path / "run2"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 2 and "op=3" in out.stderr and "Traceback" not in out.stderr
