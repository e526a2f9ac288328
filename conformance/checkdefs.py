"""One home for the checks (DESIGN.md §4 `check`): what each one is, declared once.

A record names its check as a string; everything that depends on the check asks the `Check`
value here (`checkdefs.of(name)`) instead of keeping its own list of names: which function
computes it, which reference array it is compared with and how (bit for bit or in ULPs), whether
it needs a max op or a float dtype, whether a mismatch is diagnosed against the reference
variants, whether the record names the native call and carries a reproducer, its cost in the
shard model. Adding a check is one entry here, its function in `conformance/checks.py`, and the
targets' support for it (CONTRIBUTING.md).

This module imports nothing of the engine: `case`, `runner`, `known`, `features`, `shard`,
`cli` and the reproducer all read it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache

# How a check's arrays compare: "always" bit for bit, "never" (within the ULP tolerance), or
# "op": bit for bit where the op selects one input element per window (max), else in ULPs.
EXACT_RULES = ("always", "never", "op")


@dataclass(frozen=True)
class Check:
    name: str
    run: str  # "module:function" computing its checks.Outcome (imported when first run)
    label: str  # how the report and the docs name it
    # The reference array the check is compared with (checks.cached_reference key), or None
    # where the check compares by a rule of its own (error parity, invariants, determinism).
    expected: str | None = None
    exact: str = "op"  # EXACT_RULES
    selecting_only: bool = False  # max ops only: it asks which element was picked
    float_only: bool = False  # float dtypes only (gradients)
    by_default: bool = False  # a hand-written case without `checks` runs it
    extended: bool = False  # the default suite's generated cases add it (where it applies)
    # the reference variant output `differs_under` compares (default_stride computes a forward
    # pass); None: no alternative semantics applies
    variant_output: str | None = None
    # known entries limited to this check hold here too (a forward pass by another road)
    counts_as: str | None = None
    # "module:function" (case, the target's default_stride) -> the case the result is about,
    # where the check computes another one (known entries match its facts); None: the case
    checked_case: str | None = None
    diagnosed: bool = False  # a mismatch is matched against the reference variants
    native_call: bool = False  # the record names the target's native call (ONNX node, ...)
    # every target's reproducer template covers it (`conformance show` prints one); a target
    # may write more (Backend.snippet_checks: torch also replays indices of a failing result)
    reproducible: bool = False
    value_output: bool = True  # its outcome rests on the forward values (NaN in values)
    cost: float = 1.0  # weight in the shard cost model (conformance/shard.py)

    def __post_init__(self) -> None:
        if self.exact not in EXACT_RULES:
            raise ValueError(f"{self.name}: exact={self.exact!r} not in {EXACT_RULES}")

    @property
    def evidence(self) -> bool:
        """A failing result carries arrays (or a heat map) and a reproducer."""
        return self.expected is not None

    def is_exact(self, selects: bool) -> bool:
        """Bit for bit for a spec whose op selects (`spec.kind.selects`) or not."""
        return self.exact == "always" or (self.exact == "op" and selects)

    def applies(self, dtype_is_float: bool, selects: bool) -> bool:
        """Whether a case of this kind can run the check at all."""
        return (dtype_is_float or not self.float_only) and (selects or not self.selecting_only)

    def function(self):
        return _resolve(self.run)

    def case_checked(self, case, default_stride: str | None = None):
        """The case this check's result is about (`checked_case`, given the target's documented
        default stride), or `case` itself."""
        return _resolve(self.checked_case)(case, default_stride) if self.checked_case else case


@cache
def _resolve(path: str):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


ALL: dict[str, Check] = {
    c.name: c
    for c in (
        Check(
            "forward",
            "conformance.checks:check_forward",
            "forward values",
            expected="forward",
            by_default=True,
            variant_output="forward",
            diagnosed=True,
            native_call=True,
            reproducible=True,
        ),
        Check(
            "grad",
            "conformance.checks:check_grad",
            "gradient (vjp)",
            expected="grad",
            exact="never",
            float_only=True,
            by_default=True,
            variant_output="grad",
            diagnosed=True,
            reproducible=True,
            value_output=False,
            cost=2.0,
        ),
        Check(
            "default_stride",
            "conformance.checks:check_default_stride",
            "default stride (stride left out)",
            expected="forward",
            variant_output="forward",
            counts_as="forward",
            checked_case="conformance.checks:at_documented_default",
            native_call=True,
            reproducible=True,
        ),
        Check(
            "error_parity",
            "conformance.checks:check_error_parity",
            "error parity (invalid geometry raises)",
            value_output=False,
        ),
        Check(
            "invariant",
            "conformance.checks:check_invariant",
            "invariants",
            extended=True,
            cost=2.0,
        ),
        Check(
            "determinism",
            "conformance.checks:check_determinism",
            "run-to-run determinism",
            extended=True,
        ),
        Check(
            "indices",
            "conformance.checks:check_indices",
            "max indices",
            expected="indices",
            exact="always",
            selecting_only=True,
            extended=True,
            variant_output="indices",
            diagnosed=True,
            native_call=True,
        ),
        Check(
            "unpool",
            "conformance.checks:check_unpool",
            "max unpooling",
            expected="unpool",
            exact="always",
            selecting_only=True,
            extended=True,
            variant_output="unpool",
            diagnosed=True,
            native_call=True,
            cost=1.5,
        ),
        Check(
            "resized",
            "conformance.checks:check_resized",
            "export at one input size, run at another",
            expected="forward",  # the reference's forward pass at the second size
            extended=True,
            variant_output="forward",
            counts_as="forward",
            checked_case="conformance.checks:resized",
        ),
    )
}
NAMES: tuple[str, ...] = tuple(ALL)
SELECTING: tuple[str, ...] = tuple(n for n, c in ALL.items() if c.selecting_only)


def of(name: str) -> Check:
    """The check called `name`; a KeyError for anything else (Case validates first)."""
    return ALL[name]


def named(predicate) -> list[str]:
    """The names of the checks a predicate on `Check` holds for, in table order."""
    return [n for n, c in ALL.items() if predicate(c)]


def extended(dtype_is_float: bool, selects: bool) -> tuple[str, ...]:
    """The checks the default suite's generated cases add to values and gradients."""
    return tuple(n for n, c in ALL.items() if c.extended and c.applies(dtype_is_float, selects))


def defaults(dtype_is_float: bool) -> tuple[str, ...]:
    """The checks a hand-written case runs when it names none."""
    return tuple(n for n, c in ALL.items() if c.by_default and c.applies(dtype_is_float, True))
