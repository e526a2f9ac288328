"""How much of a suite each target computes: all of it, or its first-run share.

The README's main command must finish in minutes on a fresh 2-core machine with empty caches
(issue 22). Most targets compute a case in milliseconds; a few compile every distinct call
(inductor's C++ for torch-compile, XLA for every JAX call: 50 ms to seconds each, cold), and
computed the whole default suite those few took most of half an hour. So a run computes, for a
target with `registry.Target.first_run_cases`, its hand-written cases first (witnesses, error
parity, regressions, seeds: the cases that hold the known entries), then the generated cases of
its native space (cases/native.py), then the rest, each in suite order, up to that many cases;
a target with `first_run_hand_written` computes its hand-written cases only, however many a
witness added since makes them; every other target computes every case.
`conformance run --complete` (tox, the nightly job, the CI matrix) computes every case on every
target. The cut is a fixed count per target, never a timing, so it is the same on every machine;
the run prints what it left out and records it in environment.json ("left_out").
"""

from __future__ import annotations

from collections.abc import Callable

from conformance import registry
from conformance.task import Task


def _hand_written(case) -> bool:
    return not getattr(case, "axes", None)


def first_run(
    tasks: list[Task],
    native: Callable[[str, object], bool] = lambda t, c: False,
) -> tuple[list[Task], dict[str, dict[str, int]]]:
    """The tasks of a first run, in their order, and per cut target {"kept", "cases"} counts.
    A cut target keeps its hand-written cases, then the generated cases `native(target, case)`
    places in its native space, then the others, each group in suite order."""
    cases_of: dict[str, list[str]] = {}
    for task in tasks:
        ids = cases_of.setdefault(task.backend, [])
        if not ids or ids[-1] != task.case.id:
            ids.append(task.case.id)
    kept: dict[str, set[str]] = {}
    left: dict[str, dict[str, int]] = {}
    for name, ids in cases_of.items():
        target = registry.TARGETS.get(name)
        limit = target.first_run_cases if target else None
        by_case = {t.case.id: t.case for t in tasks if t.backend == name}
        if target and target.first_run_hand_written:
            limit = sum(_hand_written(by_case[i]) for i in ids)
        if limit is None or len(ids) <= limit:
            continue
        order = sorted(
            ids,
            key=lambda i: (
                not _hand_written(by_case[i]),  # stable: suite order
                not native(name, by_case[i]),
            ),
        )
        kept[name] = set(order[:limit])
        left[name] = {"kept": limit, "cases": len(ids)}
    if not kept:
        return tasks, {}
    return [t for t in tasks if t.backend not in kept or t.case.id in kept[t.backend]], left


def describe(left: dict[str, dict[str, int]]) -> list[str]:
    """Terminal lines naming what a first run left out (empty when nothing was)."""
    if not left:
        return []
    parts = [f"{name} {n['kept']} of {n['cases']} cases" for name, n in left.items()]
    return [
        f"first run: {', '.join(parts)} (hand-written cases first; these targets compile "
        "every call). `conformance run --complete` computes the rest, as the nightly job "
        "and tox do."
    ]
