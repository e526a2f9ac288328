"""Semantic features: the rows of the report's compatibility map.

A converter author asks "can I map ceil mode / SAME padding / NaN handling onto target X?".
A feature answers that for one piece of DESIGN.md §3, and is defined by data the suite already
has, so the map cannot drift from what was tested:

- which results *exercise* it: a condition over the case facts that known-divergence entries
  match on (`conformance.known.case_facts`, same `when` language), evaluated by the runner and
  written into each record's `features` (so a report needs no framework and no reference);
- which divergences it *explains*: the reference variants (`backends.numpy.VARIANTS`) that are
  the alternative semantics of this feature (matched against a record's diagnosis tags and a
  known entry's `differs_under`), and the fact keys that tie a known entry's condition to it.

A diverging result is attributed to the features it exercises that its root cause names
(`attribute`); where the cause names none of them, to its only feature if it exercises one, and
otherwise to no feature: the map then shows it in an "unattributed" row rather than guessing.
`tests/test_features.py` holds the table to the data: every reference variant and every known
entry of backends/known/ must be explained by some feature.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from conformance import checkdefs, known
from conformance.known import case_facts, holds

BASELINE = "baseline"  # a result that exercises none of the features below
UNATTRIBUTED = "unattributed"  # a divergence whose cause names none of its result's features


@dataclass(frozen=True)
class Feature:
    id: str
    label: str  # the map's row title
    when: dict[str, Any]  # condition over case facts (+ "check"), as in known entries
    variants: tuple[str, ...] = ()  # reference variants that are this feature's alternatives
    keys: tuple[str, ...] = ()  # fact keys whose presence in a known entry's `when` names it
    checks: tuple[str, ...] = ()  # a known entry limited to these checks names it
    explain: str = ""  # one line for the map's hover text

    def exercised_by(self, facts: dict[str, Any]) -> bool:
        for key, want in self.when.items():
            options = want if isinstance(want, list) else [want]
            if not any(holds(facts.get(key), w) for w in options):
                return False
        return True

    def named_by_variants(self, when: dict[str, Any]) -> bool:
        """Whether a known entry's `differs_under` names one of this feature's variants."""
        wanted = when.get("differs_under", [])
        return bool(set(wanted if isinstance(wanted, list) else [wanted]) & set(self.variants))

    def named_by_condition(self, when: dict[str, Any], checks: tuple[str, ...]) -> bool:
        """Whether a known entry's other conditions (facts, checks) are about this feature."""
        if self.checks and checks and set(checks) <= set(self.checks):
            return True
        for key in self.keys:
            if key not in when:
                continue
            if key not in self.when:
                return True
            have = when[key] if isinstance(when[key], list) else [when[key]]
            mine = self.when[key] if isinstance(self.when[key], list) else [self.when[key]]
            if set(map(str, have)) & set(map(str, mine)):
                return True
        return False


_FLOAT_CHECKS = checkdefs.named(lambda c: c.value_output)  # NaN in values shows there

FEATURES: tuple[Feature, ...] = (
    Feature(
        "ceil_mode",
        "ceil mode: the extra last window and the rule dropping one that starts in padding",
        {"ceil_changes_output": True},
        ("ceil_keeps_last_window",),
        ("ceil_mode", "ceil_changes_output", "window_exceeds_padded_input"),
    ),
    Feature(
        "ceil_overhang",
        "ceil mode: the overhang past the padding in the average's divisor",
        {"op": "avg", "ceil_changes_output": True},
        ("ceil_overhang_counted",),
    ),
    Feature(
        "same_padding",
        "SAME padding: output ceil(n/s), the total clamped at 0, the dilated window",
        {"padding": ["same", "same_lower"]},
        (),
        ("padding", "same_pad_negative", "same_pads_undilated_change_output", "same_output_not_floor"),
    ),
    Feature(
        "same_split",
        "SAME padding: the side of the odd pixel (SAME_UPPER vs SAME_LOWER)",
        {"same_pad_asymmetric": True},
        ("same_split_flipped",),
        ("same_pad_asymmetric",),
    ),
    Feature(
        "padding_in_divisor",
        "padding in the average's divisor (count_include_pad)",
        {"op": "avg", "padded": True},
        ("cip_flipped",),
        ("count_include_pad",),
    ),
    Feature(
        "explicit_padding",
        "explicit (symmetric or asymmetric) padding",
        {"padding": ["symmetric", "asymmetric"]},
        ("grad_lost_in_padding", "grad_ge_select_padded"),
        ("padding", "padded"),
    ),
    Feature(
        "divisor_override",
        "divisor override",
        {"divisor_override": True},
        ("divisor_ignored",),
        ("divisor_override",),
    ),
    Feature(
        "dilation",
        "dilation",
        {"dilated": True},
        ("dilation_ignored",),
        ("dilated", "undilated_changes_output"),
    ),
    Feature(
        "oversized_window",
        "windows larger than the input",
        {"kernel_exceeds_input": True},
        (),
        ("kernel_exceeds_input", "window_exceeds_padded_input"),
    ),
    Feature(
        "single_window",
        "one window in a dim that leaves part of the (padded) input unread",
        {"single_window_short_of_padded_input": True},
        (),
        ("single_window_short_of_padded_input",),
    ),
    Feature(
        "adaptive",
        "adaptive windows (output size given)",
        {"adaptive": True, "global": False},
        (),
        ("adaptive_overlapping", "output_exceeds_input", "adaptive_as_fixed_pool"),
    ),
    Feature("global", "global pooling", {"global": True}, (), ("global",)),
    Feature("three_d", "3-D pooling", {"ndim": 3}, ("grad_neginf_depth0",), ("ndim",)),
    Feature("channels_last", "channels-last layout", {"layout": "channels_last"}, (), ("layout",)),
    Feature(
        "nan",
        "NaN in max/avg values",
        {"family": "nan", "check": _FLOAT_CHECKS},
        ("nan_ignored", "nan_ignored_storage_lowest", "nan_dropped", "nan_first_only", "nan_result_neginf"),
        ("family",),
    ),
    Feature(
        "grad_nan",
        "NaN in max's gradient routing",
        {"family": "nan", "check": "grad"},
        ("grad_last_nan", "grad_ge_select", "grad_gt", "nan_ignored"),
        ("family",),
    ),
    Feature(
        "inf",
        "±inf values",
        {"family": "inf"},
        ("clamp_finite", "xnnpack_clamp", "padding_selectable", "grad_lost_in_padding", "grad_neginf_depth0"),
        ("family",),
    ),
    Feature(
        "signed_zero",
        "signed zeros (which zero max keeps)",
        {"family": "signed_zero"},
        ("zero_sign_ordered", "max_last_tie", "max_maxps"),
        ("family",),
    ),
    Feature(
        "subnormal",
        "subnormal values (flush to zero)",
        {"family": "near_underflow"},
        ("flush_subnormals", "daz_compare"),
        ("family",),
    ),
    Feature(
        "overflow",
        "sums near the dtype's largest value (accumulation dtype)",
        {"family": "near_overflow", "op": ["avg", "adaptive_avg"]},
        ("accumulate_storage", "accumulate_float32"),
        ("family",),
    ),
    Feature(
        "half_precision",
        "float16/bfloat16 accumulation and rounding",
        {"dtype": ["float16", "bfloat16"], "op": ["avg", "adaptive_avg"]},
        ("accumulate_storage", "accumulate_float32"),
        ("dtype",),
    ),
    Feature(
        "float64",
        "float64 computed in float64",
        {"dtype": "float64"},
        ("compute_float32", "inputs_float32"),
        ("dtype",),
    ),
    Feature("integer", "integer dtypes", {"dtype": ["int8", "uint8", "int32", "int64"]}, (), ("dtype",)),
    Feature(
        "ties",
        "tied maxima (which one max and its gradient pick)",
        {"family": "ties", "op": ["max", "adaptive_max"]},
        ("grad_last_tie", "grad_split_ties", "grad_all_near_max", "max_column_major"),
        ("family",),
    ),
    Feature("gradient", "gradients (vjp)", {"check": "grad"}, (), (), ("grad",)),
    Feature(
        "indices",
        "max indices and unpooling",
        {"check": ["indices", "unpool"]},
        (),
        (),
        ("indices", "unpool"),
    ),
    Feature(
        "default_stride",
        "default stride (stride left out)",
        {"check": "default_stride"},
        (),
        (),
        ("default_stride",),
    ),
    Feature(
        "invariants",
        "invariants and determinism",
        {"check": ["invariant", "determinism"]},
        (),
        (),
        ("invariant", "determinism"),
    ),
    Feature(
        "resized",
        "one program run at another input size (exported shape-polymorphic)",
        {"check": "resized"},
        (),
        (),
        ("resized",),
    ),
    Feature(
        "error_parity",
        "error parity (invalid geometry raises)",
        {"check": "error_parity"},
        (),
        ("error_geometry",),
        ("error_parity",),
    ),
)
BY_ID: dict[str, Feature] = {f.id: f for f in FEATURES}
# The map's order: the table's order, then the baseline and the divergences no feature explains.
ORDER: tuple[str, ...] = (*BY_ID, BASELINE, UNATTRIBUTED)
LABELS: dict[str, str] = {
    **{f.id: f.label for f in FEATURES},
    BASELINE: "plain max/avg pooling (none of the features above)",
    UNATTRIBUTED: "divergences whose root cause names none of their result's features",
}


def exercised(facts: dict[str, Any]) -> list[str]:
    """The features a result with these facts (`known.case_facts`, incl. check) exercises."""
    found = [f.id for f in FEATURES if f.exercised_by(facts)]
    return found or [BASELINE]


def for_task(case: Any, check: str, device: str) -> list[str]:
    """The features of one task (a record's `features`): facts only, no reference run."""
    try:
        return exercised(case_facts(case, check, device, reference=False))
    except Exception:  # facts of an odd hand-written case: the map shows it as baseline
        return [BASELINE]


_TAG = re.compile(r"\[(\w+)\]")


def _entry_features(backend: str, entry_id: str) -> tuple[set[str], set[str]]:
    """The features a known entry names: by its `differs_under` variants, by its conditions."""
    try:
        entries = known.load(backend)
    except Exception:  # a backend this installation does not know (a merged result file)
        return set(), set()
    for e in entries:
        if e.id == entry_id:
            return (
                {f.id for f in FEATURES if f.named_by_variants(e.when)},
                {f.id for f in FEATURES if f.named_by_condition(e.when, e.checks)},
            )
    return set(), set()


def attribute(record: dict[str, Any]) -> list[str]:
    """The features a diverging record's root cause is about (see the module docstring).

    Witnesses, most precise first: the known entry's `differs_under` variants, its other
    conditions, the diagnosis tags (a mismatch often matches several variants at once). Each is
    taken first among the features the result exercises, then alone (a hand-written input,
    family "given", has no value facts); features that are only a check ("gradients") come last.
    """
    mine = [f for f in record.get("features") or [] if f != BASELINE]
    entry = (record.get("known") or {}).get("id")
    by_variants, by_condition = _entry_features(record["backend"], entry) if entry else (set(), set())
    tags = set(_TAG.findall(record.get("diagnosis") or ""))
    witnesses = (by_variants, by_condition, {f.id for f in FEATURES if tags & set(f.variants)})
    specific = [f.id for f in FEATURES if not f.checks]
    for pool in (mine, specific):
        for named in witnesses:
            hit = [f for f in pool if f in named and not BY_ID[f].checks]
            if hit:
                return hit
    for named in witnesses:
        hit = [f for f in mine if f in named]
        if hit:
            return hit
    if len(mine) == 1:
        return mine
    return [UNATTRIBUTED] if mine else [BASELINE]


def attributed(record: dict[str, Any]) -> list[str]:
    """`attribute`, computed once per record (kept in its "_attributed" key): the report's digest
    and map both ask for every diverging record."""
    if "_attributed" not in record:
        record["_attributed"] = attribute(record)
    return record["_attributed"]
