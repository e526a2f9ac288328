"""The compatibility map: semantic features (rows) x targets (columns), one verdict per cell.

A cell answers "can I map this feature onto this target?" from the records alone:

- `diverges`: some result is attributed to the feature (`features.attribute`) and every such
  result is a recorded known divergence: the root causes are listed, linked to the digest;
- `unexpected`: an attributed result fails (mismatch, error, crash, ... not recorded as known);
- `agrees`: results exercising the feature pass and none diverges because of it;
- `not_expressible`: every result exercising it is unsupported; the reason shown is the
  unsupported rule most specific to the feature (the one most over-represented among them);
- `untested`: no result exercises it, or only results that diverge for other reasons.

Columns are targets grouped by (source) framework, eager next to its compiled modes and its
converter paths (the registry's order; a converter path's header names converter → runtime);
the reference itself is left out (it is checked against the seed documents, not mapped).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from conformance import features, reasons, registry
from conformance.results import FAILING

STATES = ("unexpected", "diverges", "agrees", "not_expressible", "untested")


@dataclass
class Cell:
    state: str = "untested"
    passed: int = 0
    supported: int = 0
    unsupported: int = 0
    failing: int = 0
    known: int = 0
    causes: list[dict[str, Any]] = field(default_factory=list)  # {cause, count, digest, example}
    reason: str = ""  # not expressible: why

    @property
    def text(self) -> str:
        """The one-line hover text of the cell."""
        if self.state == "not_expressible":
            return f"not expressible: {self.reason}"
        parts = [f"{self.passed} of {self.supported} supported results pass"]
        if self.unsupported:
            parts.append(f"{self.unsupported} unsupported")
        parts += [f"{c['cause']}: {c['count']}" for c in self.causes]
        return "; ".join(parts)


def target_order(records: list[dict]) -> list[dict[str, str]]:
    """The map's columns: one per target label (name + version), grouped by framework."""
    rank = {name: i for i, name in enumerate(registry.names())}
    seen: dict[str, dict[str, str]] = {}
    for r in records:
        label = label_of(r)
        if r["backend"] != registry.REFERENCE and label not in seen:
            seen[label] = {
                "label": label,
                "backend": r["backend"],
                "version": r.get("backend_version", ""),
                "framework": r.get("framework") or r["backend"],
                "road": road_of(r["backend"]),
            }
    first_of = {}
    for col in sorted(seen.values(), key=lambda c: rank.get(c["backend"], len(rank))):
        first_of.setdefault(col["framework"], rank.get(col["backend"], len(rank)))
    return sorted(
        seen.values(),
        key=lambda c: (
            first_of[c["framework"]],
            c["framework"],
            rank.get(c["backend"], len(rank)),
            c["version"],
        ),
    )


def road_of(backend: str) -> str:
    """How a target reaches its runtime: "converter → runtime" for a converter path (the
    registry's `converter`/`runtime`), "" for the framework's own call. The map's second header
    row, so the columns read source framework → converter → runtime."""
    t = registry.target(backend)
    return f"{t.converter} → {t.runtime}" if t.converter else ""


def label_of(r: dict[str, Any]) -> str:
    """A target's column label: its name with its version, so merged runs stay apart."""
    return f"{r['backend']} {r.get('backend_version', '')}".strip()


def build(records: list[dict], cause_of: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """The map. `cause_of[id(record)]` is the record's digest row ({cause, digest, example})."""
    columns = target_order(records)
    cells: dict[tuple[str, str], Cell] = {}
    uns_reasons: dict[tuple[str, str], Counter] = {}
    all_uns: dict[str, Counter] = {}
    exercised: set[str] = set()
    for r in records:
        label = label_of(r)
        status = r["status"]
        mine = r.get("features") or [features.BASELINE]
        exercised.update(mine)
        if status == "unsupported":
            message = r.get("message", "")
            all_uns.setdefault(label, Counter())[message] += 1
        for f in mine:
            cell = cells.setdefault((f, label), Cell())
            if status == "unsupported":
                cell.unsupported += 1
                uns_reasons.setdefault((f, label), Counter())[message] += 1
            else:
                cell.supported += 1
                cell.passed += status == "pass"
        if status in ("pass", "unsupported"):
            continue
        for f in features.attributed(r):
            exercised.add(f)
            cell = cells.setdefault((f, label), Cell())
            cell.failing += status in FAILING
            cell.known += status == "known_divergence"
            cause = cause_of.get(id(r))
            if cause is not None:
                for c in cell.causes:
                    if c["digest"] == cause["digest"]:
                        c["count"] += 1
                        break
                else:
                    cell.causes.append({**cause, "count": 1})
    for (f, label), cell in cells.items():
        if cell.failing:
            cell.state = "unexpected"
        elif cell.known:
            cell.state = "diverges"
        elif cell.passed:
            cell.state = "agrees"
        elif cell.unsupported and not cell.supported:
            cell.state = "not_expressible"
            cell.reason = _specific(uns_reasons[(f, label)], all_uns.get(label, Counter()))
        cell.causes.sort(key=lambda c: -c["count"])
    rows = []
    for f in features.ORDER:
        if f not in exercised:
            continue
        row_cells = [cells.get((f, c["label"]), Cell()) for c in columns]
        rows.append(
            {
                "id": f,
                "label": features.LABELS[f],
                "cells": row_cells,
                "states": Counter(c.state for c in row_cells),
            }
        )
    return {"columns": columns, "rows": rows, "frameworks": _spans(columns)}


def _specific(here: Counter, overall: Counter) -> str:
    """The unsupported rule (conformance.reasons) most over-represented among this cell's
    results, by lift: the dilation row of a channels-first-only target says "no dilation",
    not the layout rule that also covers most of its results."""

    def by_rule(messages: Counter) -> Counter:
        rules: Counter = Counter()
        for message, count in messages.items():
            rules[reasons.rule_key(message)] += count
        return rules

    rules_here, rules_all = by_rule(here), by_rule(overall)
    n_here, n_all = sum(rules_here.values()), sum(rules_all.values()) or 1
    best = max(rules_here, key=lambda k: ((rules_here[k] / n_here) / (rules_all[k] / n_all), rules_here[k]))
    return reasons.template(Counter({m: c for m, c in here.items() if reasons.rule_key(m) == best}))


def _spans(columns: list[dict[str, str]]) -> list[dict[str, Any]]:
    """The framework header row: (framework, number of columns) in column order."""
    spans: list[dict[str, Any]] = []
    for c in columns:
        if spans and spans[-1]["framework"] == c["framework"]:
            spans[-1]["count"] += 1
        else:
            spans.append({"framework": c["framework"], "count": 1})
    return spans
