"""Converter fidelity: does a converted model compute what its source computes?

The reference is the oracle for every target, but a deployer asks a second question of a
converter path: does the converted model behave like the model I trained, *even where my
framework is wrong*? This module answers it from the records alone, case by case: each result of
a converter path (registry `converter`) is paired with the result of its source target (registry
`source`: the framework's own eager call, or ONNX Runtime for the suite's ONNX models) for the
same case, check and device, and the pair is put in one category:

- `preserved`: both agree with the reference;
- `same divergence`: both diverge and their diagnoses share an alternative semantics (the same
  `[variant]` of conformance.diagnosis): the converter kept the source's behaviour;
- `introduced`: the source agrees, the converted model diverges (the converter or its runtime
  changed the result);
- `corrected`: the source diverges, the converted model agrees with the reference: right by
  the reference, but not what the source computed;
- `changed`: both diverge, both diagnosed, with no alternative in common (wrong differently);
- `undiagnosed`: both diverge and one of them has no diagnosis (a shape, an error parity or an
  index result, say): the verdicts cannot tell whether they diverge alike;
- `refused`: the source computes the case, the converter path does not (`unsupported`).

Pairs the source does not compute are counted apart (`beyond source`), and a check the path
never computes (gradients through an inference runtime) is left out and named (`not offered`):
it is a property of the road, not a refusal of a case. The comparison is of
verdicts, not of bits: two passing results each lie within the check's tolerance of the
reference, so they agree with each other to twice that tolerance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from conformance import compat, registry

CATEGORIES = (
    "preserved",
    "same divergence",
    "introduced",
    "corrected",
    "changed",
    "undiagnosed",
    "refused",
)
# categories a deployer must read (the converted model does not compute what the source does)
NOT_PRESERVED = ("introduced", "corrected", "changed", "undiagnosed", "refused")
EXAMPLES = 5  # example pairs shown per category and target
_AGREES = ("pass", "fixed_divergence")
_VARIANT = re.compile(r"\[([a-z0-9_]+)\]")


@dataclass
class Fidelity:
    """One converter path against its source."""

    target: str
    source: str
    road: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))
    beyond_source: int = 0
    not_offered: list[str] = field(default_factory=list)  # checks the path never computes
    examples: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    @property
    def compared(self) -> int:
        return sum(self.counts.values())

    @property
    def source_diverges(self) -> int:
        """Pairs where the source itself diverges from the reference."""
        return sum(self.counts[c] for c in ("same divergence", "corrected", "changed", "undiagnosed"))

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "source": self.source,
            "road": self.road,
            "counts": dict(self.counts),
            "beyond_source": self.beyond_source,
            "not_offered": self.not_offered,
            "examples": self.examples,
        }


def _variants(r: dict) -> set[str]:
    return set(_VARIANT.findall(r.get("diagnosis") or ""))


def category(source: dict, converted: dict) -> str | None:
    """The pair's category; None where the source does not compute the case."""
    if source["status"] == "unsupported":
        return None
    if converted["status"] == "unsupported":
        return "refused"
    source_agrees, converted_agrees = source["status"] in _AGREES, converted["status"] in _AGREES
    if source_agrees and converted_agrees:
        return "preserved"
    if source_agrees:
        return "introduced"
    if converted_agrees:
        return "corrected"
    source_variants, converted_variants = _variants(source), _variants(converted)
    if not (source_variants and converted_variants):
        return "undiagnosed"
    return "same divergence" if source_variants & converted_variants else "changed"


def _example(source: dict, converted: dict) -> dict[str, str]:
    return {
        "case": converted["case_id"],
        "check": converted["check"],
        "device": converted["device"],
        "source_status": source["status"],
        "status": converted["status"],
        "source_known": (source.get("known") or {}).get("id", ""),
        "known": (converted.get("known") or {}).get("id", ""),
    }


def compare(records: list[dict]) -> list[Fidelity]:
    """One Fidelity per converter path present in the records whose source is present too (a
    target's last record for a case x check x device stands for it)."""
    by_target: dict[str, dict[tuple, dict]] = {}
    for r in records:
        by_target.setdefault(r["backend"], {})[(r["case_id"], r["check"], r["device"])] = r
    out = []
    for name, results in by_target.items():
        t = registry.target(name)
        if not t.converter or t.source not in by_target:
            continue
        offered = {key[1] for key, r in results.items() if r["status"] != "unsupported"}
        checks = {key[1] for key in results}
        row = Fidelity(name, t.source, compat.road_of(name), not_offered=sorted(checks - offered))
        source_results = by_target[t.source]
        for key, converted in results.items():
            source = source_results.get(key)
            if source is None or key[1] not in offered:
                continue
            cat = category(source, converted)
            if cat is None:
                row.beyond_source += converted["status"] != "unsupported"
                continue
            row.counts[cat] += 1
            if cat != "preserved":
                shown = row.examples.setdefault(cat, [])
                if len(shown) < EXAMPLES:
                    shown.append(_example(source, converted))
        out.append(row)
    return out
