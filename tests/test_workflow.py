"""The GitHub workflow's nightly job runs every shard of the `full` suite and merges them all.
(.ci/run lints the whole file with actionlint.)"""

from __future__ import annotations

from pathlib import Path

import yaml

WORKFLOW = Path(__file__).resolve().parents[1] / ".github" / "workflows" / "conformance.yml"


def test_nightly_job_runs_every_shard_and_merges_them():
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    shard_job, merge_job = jobs["nightly-shard"], jobs["nightly-report"]
    count = int(shard_job["env"]["SHARDS"])
    assert shard_job["strategy"]["matrix"]["shard"] == list(range(1, count + 1))
    assert "schedule" in shard_job["if"]
    script = "\n".join(step.get("run", "") for step in shard_job["steps"])
    assert "--suite full" in script and '--shard "${{ matrix.shard }}/$SHARDS"' in script
    assert merge_job["needs"] == "nightly-shard" and "always()" in merge_job["if"]
    merge = "\n".join(step.get("run", "") for step in merge_job["steps"])
    assert "conformance report shards/*/" in merge
