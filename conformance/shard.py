"""`conformance run --shard K/N`: a deterministic 1/N of a run's tasks, balanced by expected cost.

The unit is a case: all of its tasks (every target, check and device) go to one shard, so the
reference's outputs for a case are computed once and a shard's records are whole cases. Cases
are dealt largest expected cost first to the least loaded shard (ties: the lower shard number),
costs from a fixed model of the case and the *asked* targets — never from timings or from which
frameworks load on a machine — so every machine computes the same partition, and the N shards
together hold every task exactly once (`conformance report` merges them into one run).
"""

from __future__ import annotations

import heapq
import math
import re
from dataclasses import dataclass

from conformance import checkdefs, registry
from conformance.errors import UsageError

# Relative cost of one task: the target's (registry.Target.cost) times the check's
# (checkdefs.Check.cost). A model, not a measurement: it only has to rank cases roughly, and it
# must be the same everywhere.


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, as written: --shard 2/4 is index 2 of count 4
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @classmethod
    def parse(cls, text: str) -> Shard:
        m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
        if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
            raise UsageError(f"--shard {text!r} is not allowed: K/N with 1 <= K <= N, e.g. 2/8")
        return cls(int(m.group(1)), int(m.group(2)))


def case_cost(case, targets: list[str]) -> float:
    """Expected cost of one case on the asked targets (input size grows every call's cost)."""
    elements = math.prod(case.input_shape) if case.input_shape else 1
    size = 1.0 + elements / 4096
    checks = sum(checkdefs.ALL[c].cost if c in checkdefs.ALL else 1.0 for c in case.checks)
    return size * checks * sum(registry.TARGETS[t].cost if t in registry.TARGETS else 1.0 for t in targets)


def partition(cases: list, targets: list[str], count: int) -> list[set[str]]:
    """The case ids of each of `count` shards (longest-processing-time-first scheduling)."""
    order = sorted(((case_cost(c, targets), c.id) for c in cases), key=lambda t: (-t[0], t[1]))
    load = [(0.0, i) for i in range(count)]  # (cost so far, shard) as a heap
    shards: list[set[str]] = [set() for _ in range(count)]
    for cost, case_id in order:
        total, i = heapq.heappop(load)
        shards[i].add(case_id)
        heapq.heappush(load, (total + cost, i))
    return shards


def select(cases: list, targets: list[str], shard: Shard) -> list:
    """The cases of `shard`, in the suite's order."""
    mine = partition(cases, targets, shard.count)[shard.index - 1]
    return [c for c in cases if c.id in mine]
