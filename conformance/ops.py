"""One home for the pooling operations: what each computes, and what that implies elsewhere.

A spec names its op as a string (`PoolSpec.op`, the record and case-file field); everything
that depends on the op asks the `Op` value here (`spec.kind`) instead of comparing that string:
whether results are compared bit-exactly, whether the op has a divisor, which dtypes it takes,
which alternative semantics of the reference apply to it. Adding an op (adaptive, global) is one
entry here plus its windows in the reference, not a search for `== "max"` across the code.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_REDUCTION = "max"
MEAN_REDUCTION = "mean"


@dataclass(frozen=True)
class Op:
    """One pooling operation of DESIGN.md §2."""

    name: str  # the PoolSpec.op string
    reduction: str  # MAX_REDUCTION or MEAN_REDUCTION over each window
    label: str  # how the report names it
    adaptive: bool = False  # windows from an output size (DESIGN.md §3), not kernel/stride

    @property
    def selects(self) -> bool:
        """The output is one input element per window: compared bit-exactly, has indices."""
        return self.reduction == MAX_REDUCTION

    @property
    def averages(self) -> bool:
        """The output is a window sum over a divisor: float dtypes only, compared in ULPs at
        the magnitude of the window, count_include_pad and divisor_override apply."""
        return self.reduction == MEAN_REDUCTION


MAX = Op("max", MAX_REDUCTION, "max pooling")
AVG = Op("avg", MEAN_REDUCTION, "average pooling")
ADAPTIVE_MAX = Op("adaptive_max", MAX_REDUCTION, "adaptive max pooling", adaptive=True)
ADAPTIVE_AVG = Op("adaptive_avg", MEAN_REDUCTION, "adaptive average pooling", adaptive=True)

ALL: dict[str, Op] = {op.name: op for op in (MAX, AVG, ADAPTIVE_MAX, ADAPTIVE_AVG)}
NAMES: tuple[str, ...] = tuple(ALL)


def of(name: str) -> Op:
    """The op called `name`; a KeyError for anything else (PoolSpec validates first)."""
    return ALL[name]
