"""`conformance run --shard K/N`: a deterministic, balanced, complete partition, and N merged
shards equal to one unsharded run (apart from timings)."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest

from cases import get_suite
from conformance.errors import UsageError
from conformance.shard import Shard, case_cost, partition
from tests.fake_backends import environment

TARGETS = ["numpy", "torch", "torch-compile", "jax", "onnxruntime"]


def test_partition_is_complete_deterministic_and_balanced():
    cases = get_suite("smoke")
    shards = partition(cases, TARGETS, 4)
    ids = [i for s in shards for i in s]
    assert sorted(ids) == sorted(c.id for c in cases)  # every case exactly once
    shuffled = random.Random(1).sample(cases, len(cases))  # another order, another machine
    assert partition(shuffled, TARGETS, 4) == shards
    cost = {c.id: case_cost(c, TARGETS) for c in cases}
    loads = [sum(cost[i] for i in s) for s in shards]
    # longest-processing-time-first: no shard exceeds the mean by more than the largest case
    assert max(loads) <= sum(loads) / 4 + max(cost.values())


def test_partition_depends_on_asked_targets_not_on_their_order():
    cases = get_suite("smoke")
    assert partition(cases, TARGETS, 3) == partition(cases, TARGETS[::-1], 3)


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "a/b", "1/0", ""])
def test_bad_shard_is_a_usage_error(text):
    with pytest.raises(UsageError, match="K/N"):
        Shard.parse(text)


def _run(*args):
    return subprocess.run(
        [sys.executable, "-m", "conformance", *args],
        capture_output=True,
        text=True,
        timeout=900,
        env=environment("fake-exact", "fake-cip-flipped"),
    )


def _records(folder):
    """Records without their timings, in a canonical order."""
    rows = []
    for line in (folder / "results.jsonl").read_text().splitlines():
        r = json.loads(line)
        r.pop("seconds")
        rows.append(json.dumps(r, sort_keys=True))
    return sorted(rows)


def test_merged_shards_equal_one_unsharded_run(tmp_path):
    common = ["--suite", "smoke", "--backends", "numpy,fake-exact,fake-cip-flipped", "--no-isolate"]
    whole = _run("run", *common, "--out", str(tmp_path / "whole"))
    assert whole.returncode == 1, whole.stderr  # fake-cip-flipped diverges: a finding
    for k in (1, 2, 3):
        part = _run("run", *common, "--shard", f"{k}/3", "--out", str(tmp_path / f"s{k}"))
        assert part.returncode in (0, 1), part.stderr
        env = json.loads((tmp_path / f"s{k}" / "environment.json").read_text())
        assert env["shard"] == f"{k}/3"
    sizes = [len(_records(tmp_path / f"s{k}")) for k in (1, 2, 3)]
    assert all(sizes), sizes
    merged = _run("report", *(str(tmp_path / f"s{k}") for k in (1, 2, 3)), "-o", str(tmp_path / "m"))
    assert merged.returncode == 0, merged.stderr
    assert _records(tmp_path / "m") == _records(tmp_path / "whole")
    env = json.loads((tmp_path / "m" / "environment.json").read_text())
    assert not env["partial"] and env["shards"] == ["smoke: 3 of 3"]
    # two of three shards: the merge says which is missing and marks the report partial
    two = _run("report", str(tmp_path / "s1"), str(tmp_path / "s3"), "-o", str(tmp_path / "m2"))
    assert "2/3" in two.stderr
    env = json.loads((tmp_path / "m2" / "environment.json").read_text())
    assert env["partial"] and any("2/3" in s for s in env["partial_sources"])
