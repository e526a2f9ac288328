"""Greedy covering arrays (AETG-style) over the declarative axes.

Each row is built from a not-yet-covered t-tuple, then the remaining axes are filled one at a
time with the value that covers most new tuples, among values the exclusion rules allow.
Tuples that no valid row can contain are excluded up front, so coverage is measured against
what is actually possible. Deterministic for a seed: candidates use a seeded RNG and every
iteration order is fixed.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

Rule = Callable[[dict[str, Any]], str | None]


@dataclass
class Coverage:
    strength: int
    axes: tuple[str, ...]
    required: int
    covered: int
    label: str = ""  # whose sub-space (empty: the whole space)

    @property
    def percent(self) -> float:
        return 100.0 if self.required == 0 else 100.0 * self.covered / self.required

    def __str__(self) -> str:
        group = "all axes" if len(self.axes) > 6 else ", ".join(self.axes)
        where = f" [{self.label} native]" if self.label else ""
        return (
            f"{self.strength}-way over {group}{where}: {self.covered}/{self.required} ({self.percent:.1f} %)"
        )


def completable(axes: dict[str, list], partial: dict[str, Any], rule: Rule) -> bool:
    """Whether some valid full row extends `partial` (depth-first search; domains are small)."""
    if rule(partial) is not None:
        return False
    rest = [n for n in axes if n not in partial]
    if not rest:
        return True
    name = rest[0]
    return any(completable(axes, {**partial, name: v}, rule) for v in axes[name])


def _tuples(axes: dict[str, list], names: Sequence[str], t: int, rule: Rule) -> set[tuple]:
    """The t-tuples over `names` that some valid row contains (the coverage target)."""
    out = set()
    for combo in itertools.combinations(names, t):
        for values in itertools.product(*(range(len(axes[n])) for n in combo)):
            partial = {n: axes[n][v] for n, v in zip(combo, values, strict=True)}
            if completable(axes, partial, rule):
                out.add(tuple(zip(combo, values, strict=True)))
    return out


def _row_tuples(row: dict[str, int], names: Sequence[str], t: int) -> set[tuple]:
    return {tuple((n, row[n]) for n in combo) for combo in itertools.combinations(names, t)}


def covering_array(
    axes: dict[str, list],
    groups: Sequence[tuple[Sequence[str], int]],
    rule: Rule,
    *,
    seed: int = 0,
    candidates: int = 20,
) -> list[dict[str, Any]]:
    """Rows (axis -> value) covering every valid t-tuple of every (axes, t) group."""
    rng = random.Random(seed)
    names = list(axes)
    uncovered: set[tuple] = set()
    for group, t in groups:
        uncovered |= _tuples(axes, list(group), t, rule)
    by_value: dict[tuple[str, int], set[tuple]] = {}
    for tup in uncovered:
        for item in tup:
            by_value.setdefault(item, set()).add(tup)
    rows: list[dict[str, Any]] = []

    def covers(row: dict[str, int], tup: tuple) -> bool:
        return all(row.get(n) == i for n, i in tup)

    while uncovered:
        first = min(uncovered)  # stable choice of the tuple to start from
        best_row, best_gain = None, -1
        for _ in range(candidates):
            row = dict(first)
            order = [n for n in names if n not in row]
            rng.shuffle(order)
            for name in order:
                options = list(range(len(axes[name])))
                rng.shuffle(options)
                best_v, best_v_gain = None, -1
                for v in options:
                    trial = {**row, name: v}
                    if rule({n: axes[n][i] for n, i in trial.items()}) is not None:
                        continue
                    gain = sum(1 for tup in by_value.get((name, v), ()) if covers(trial, tup))
                    if gain > best_v_gain:
                        best_v, best_v_gain = v, gain
                if best_v is None:
                    break
                row[name] = best_v
            if len(row) != len(names):
                continue
            gain = sum(1 for item in row.items() for tup in by_value.get(item, ()) if covers(row, tup))
            if gain > best_gain:
                best_row, best_gain = row, gain
        done = (
            {first}
            if best_row is None
            else {tup for item in best_row.items() for tup in by_value.get(item, ()) if covers(best_row, tup)}
        )
        for tup in done:  # covered, or `first` cannot be completed into a valid row
            uncovered.discard(tup)
            for item in tup:
                by_value[item].discard(tup)
        if best_row is not None:
            rows.append({n: axes[n][i] for n, i in best_row.items()})
    return rows


def measure(
    axes: dict[str, list], rows: list[dict[str, Any]], group: Sequence[str], t: int, rule: Rule
) -> Coverage:
    """How many of the valid t-tuples over `group` the rows contain."""
    required = _tuples(axes, list(group), t, rule)
    index = {n: {repr(v): i for i, v in enumerate(axes[n])} for n in axes}
    have = set()
    for row in rows:
        as_idx = {n: index[n][repr(row[n])] for n in group}
        have |= _row_tuples(as_idx, list(group), t)
    return Coverage(t, tuple(group), len(required), len(required & have))
