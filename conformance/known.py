"""Known divergences: data files beside the backends (`backends/known/<backend>.toml`).

Each `[[divergence]]` entry says on which cases a backend is known to differ from the
reference, what raw status that gives, why, and where it is reported publicly:

    [[divergence]]
    id = "tf-same-avg-excludes-padding"
    checks = ["forward", "grad"]           # optional, default: every check
    when = { op = "avg", padding = "same", count_include_pad = true }
    versions = ">=2.0"                     # optional PEP 440 range of the framework version
    status = "mismatch"                    # the raw status expected on those cases: mismatch,
                                           # shape_mismatch, error, crash (the framework kills
                                           # the process: a converter's SIGFPE, say; only facts
                                           # without `differs_under` hold for a crashed task,
                                           # which has no outputs), or nondeterministic (two
                                           # identical calls differed: only with strict = false,
                                           # as it need not show on every call)
    reason = "..."
    link = "https://..."                   # or "no public report found"

`strict = false` (rare, explained in the entry) marks behaviour the framework leaves
unspecified: a matching case that passes stays `pass` instead of `fixed_divergence`.
`when` keys are the facts of `case_facts` (those of the case, and the CPU's kernel choices of
`conformance.cpu`, e.g. `tf_onednn = false` for TensorFlow's Eigen kernels); a list value means
"any of", and a string such as
">127" compares a numeric fact. The key `differs_under` names a reference variant
(backends.numpy.VARIANTS): it holds when that alternative semantics changes this case's result,
which is exactly when a backend implementing the variant must disagree with the reference.
A matching case whose raw status equals `status` becomes `known_divergence`; one that passes
becomes `fixed_divergence` (the upstream fix shows up as a failure to look at, like a strict xfail).
"""

from __future__ import annotations

import importlib.util
import tomllib
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import numpy as np
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from conformance import checkdefs, cpu
from conformance.case import Case
from conformance.diagnosis import differs_under
from conformance.errors import InvalidSpec
from conformance.registry import target
from conformance.spec import ceil_changes_output

_KEYS = {"id", "checks", "when", "versions", "status", "reason", "link", "strict"}


class Facts(dict):
    """Case facts; `differs_under` is computed only when an entry asks for it."""

    def __init__(self, case: Case, check: str, values: dict[str, Any], reference: bool = True):
        super().__init__(values)
        self.case, self.check, self.reference = case, check, reference

    def variant_differs(self, variant: str) -> bool:
        definition = checkdefs.ALL.get(self.check)
        if definition is None or definition.variant_output is None or not self.reference:
            return False  # without the reference (a crashed task's parent) no variant holds

        return differs_under(self.case, definition.variant_output, variant)


# The kernel-based facts of an adaptive spec: no padding, no ceil mode, no SAME arithmetic.
_NO_KERNEL_FACTS = {
    "kernel_elements": 0,
    "stride_is_kernel": False,
    "padded": False,
    "ceil_mode": False,
    "count_include_pad": True,
    "divisor_override": False,
    "dilated": False,
    "undilated_changes_output": False,
    "kernel_exceeds_input": False,
    "window_exceeds_padded_input": False,
    "single_window_short_of_padded_input": False,
    "same_pad_negative": False,
    "same_pads_undilated_change_output": False,
    "same_pad_asymmetric": False,
    "same_output_not_floor": False,
    "copy_window": False,
    "error_geometry": "",
}


def _c_div(a: int, b: int) -> int:
    """Integer division truncating toward zero, as C computes it (-1 / 3 == 0)."""
    return -(-a // b) if a < 0 else a // b


def _output_facts(case: Case) -> dict[str, Any]:
    """Facts about the output's spatial shape (an error-parity case has none)."""
    spec = case.spec
    spatial = [case.input_shape[a] for a in spec.spatial_axes()]
    try:
        out = [case.output_shape[a] for a in spec.spatial_axes()]
    except (InvalidSpec, AttributeError):
        out = []
    return {
        # ceil mode changes the output size here (otherwise ONNX models use auto_pad/floor)
        "ceil_changes_output": bool(out)
        and not spec.kind.adaptive
        and ceil_changes_output(spec, case.input_shape),
        # the output's spatial dims read the same reversed (a transposed output keeps its shape)
        "output_shape_palindrome": out == out[::-1],
        # at most one spatial input dim above 1: row- and column-major plane positions agree
        "plane_one_dimensional": sum(n > 1 for n in spatial) <= 1,
        "one_output": bool(out) and all(o == 1 for o in out),
        # ONNX MaxUnpool's inferred size (in - 1) * stride + kernel - pads exceeds the input
        "unpool_inferred_exceeds_input": bool(out)
        and not spec.kind.adaptive
        and any(
            (o - 1) * s + k - lo - hi > n
            for o, s, k, (lo, hi), n in zip(
                out, spec.stride, spec.kernel, spec.explicit_pads(case.input_shape), spatial, strict=True
            )
        ),
    }


def _has_nan(case: Case) -> bool:
    if case.family not in ("nan", "given") or not case.dtype.startswith(("float", "bfloat")):
        return False
    try:
        return bool(np.isnan(case.make_input().astype(np.float64)).any())
    except InvalidSpec:  # an error-parity case's input may not exist
        return False


@lru_cache(maxsize=4096)
def _static_facts(case: Case) -> dict[str, Any]:
    """The facts that depend on the case alone (computed once per case, not per result)."""
    spec = case.spec
    pads = spec.explicit_pads(case.input_shape)
    spatial = [case.input_shape[a] for a in spec.spatial_axes()]
    # error-parity RawSpecs have no valid windows
    windows = spec.geometry(case.input_shape) if hasattr(spec, "geometry") else ()
    most = 0  # the most input elements any window holds (1: nothing is ever compared or added)
    if windows:
        most = 1
        for g in windows:
            most *= max(len(g.members(j)) for j in range(g.out))
    common = {
        "spatial_size": int(np.prod(spatial)),
        "channels": case.input_shape[1 if spec.layout == "channels_first" else -1],
        "max_window_elements": most,
        "op": spec.op,
        "ndim": spec.ndim,
        "padding": spec.padding_kind,
        "layout": spec.layout,
        "dtype": case.dtype,
        "family": case.family,
        # the input holds a NaN (a hand-written case's given values too, whatever its family)
        "input_has_nan": _has_nan(case),
        "suite": case.suite,
        "case_id": case.id,
        "adaptive": spec.kind.adaptive,
        "global": getattr(spec, "is_global", False),
        **_output_facts(case),
    }
    if spec.kind.adaptive:
        return {
            **common,
            **_NO_KERNEL_FACTS,
            # some input element in two windows (PyTorch's rule when o does not divide n)
            "adaptive_overlapping": any(g.overlapping for g in windows),
            "output_exceeds_input": any(g.out > g.n for g in windows),
            # equal, disjoint windows: a fixed-kernel pool with kernel = stride = n / o
            "adaptive_as_fixed_pool": all(g.n % g.out == 0 for g in windows),
        }
    channel_axis = 1 if spec.layout == "channels_first" else -1
    effective = [d * (k - 1) + 1 for k, d in zip(spec.kernel, spec.dilation, strict=True)]
    same = spec.padding in ("same", "same_lower")
    # per dim: SAME's output size ceil(n / s), and its span (out - 1) * s before the window
    same_dims = (
        [
            (n, s, k, e, (-(-n // s) - 1) * s)  # only SAME specs: error cases have stride 0
            for n, s, k, e in zip(spatial, spec.stride, spec.kernel, effective, strict=True)
        ]
        if same
        else []
    )
    return {
        **common,
        "adaptive_overlapping": False,
        "output_exceeds_input": False,
        "adaptive_as_fixed_pool": False,
        "spatial_size": int(np.prod(spatial)),
        "channels": case.input_shape[channel_axis],
        "max_window_elements": most,
        "kernel_elements": int(np.prod(spec.kernel)),
        "stride_is_kernel": tuple(spec.stride) == tuple(spec.kernel),
        "op": spec.op,
        "ndim": spec.ndim,
        "padding": spec.padding_kind,
        "padded": any(lo or hi for lo, hi in pads),
        "ceil_mode": spec.ceil_mode,
        "count_include_pad": spec.count_include_pad,
        "divisor_override": spec.divisor_override is not None,
        "dilated": any(d != 1 for d in spec.dilation),
        # the output at dilation 1 has another shape (dilation ignored is a shape mismatch)
        "undilated_changes_output": _undilated_changes_output(spec, case.input_shape),
        "layout": spec.layout,
        "kernel_exceeds_input": any(k > n for k, n in zip(spec.kernel, spatial, strict=True)),
        # the dilated window is wider than the padded input in some dim (ceil mode's one window)
        "window_exceeds_padded_input": any(
            e > n + lo + hi for e, n, (lo, hi) in zip(effective, spatial, pads, strict=True)
        ),
        # an undilated dim of one output whose window is shorter than the padded input (the
        # window leaves input or padding unread: 3 over 4, stride 3 or 2)
        "single_window_short_of_padded_input": any(
            g.out == 1 and g.d == 1 and g.k < g.n + g.lo + g.hi for g in windows
        ),
        # SAME padding whose total (out - 1) * stride + window - input is negative in some dim
        # (the semantics clamp it to 0: the windows skip input at the end)
        "same_pad_negative": same and any(span + e < n for n, _, _, e, span in same_dims),
        # SAME padding computed from the undilated kernel, unclamped, with C's truncating
        # division, gives another output size than ceil(n / s)
        "same_pads_undilated_change_output": same
        and any(_c_div(span + k - e, s) != span // s for _, s, k, e, span in same_dims),
        # SAME padding with an odd total in some dim: the extra pixel goes to one side only
        "same_pad_asymmetric": same and any((lo + hi) % 2 == 1 for lo, hi in pads),
        # SAME's output ceil(n / s) differs from floor(n / s) in some dim (a stride that does
        # not divide the input)
        "same_output_not_floor": same and any(n % s != 0 for n, s, *_ in same_dims),
        # one-element windows at stride 1 without dilation: compilers turn the pool into a copy
        "copy_window": all(k == 1 for k in spec.kernel)
        and all(s == 1 for s in spec.stride)
        and all(d == 1 for d in spec.dilation),
        "dtype": case.dtype,
        "family": case.family,
        "suite": case.suite,
        "case_id": case.id,
        "error_geometry": getattr(case, "name", "") if case.checks == ("error_parity",) else "",
    }


def _undilated_changes_output(spec, input_shape) -> bool:
    if not hasattr(spec, "output_shape"):  # an error-parity case's raw spec: no output
        return False
    try:
        undilated = replace(spec, dilation=(1,) * spec.ndim)
        return tuple(spec.output_shape(input_shape)) != tuple(undilated.output_shape(input_shape))
    except InvalidSpec:
        return False


def case_facts(case: Case, check: str, device: str, reference: bool = True) -> Facts:
    """The facts entries match on; `reference=False` never runs the reference (entries that
    need `differs_under` then do not match)."""
    return Facts(
        case,
        check,
        # a Device is a str enum: facts compare by type too, so the plain string
        {**_static_facts(case), **cpu.facts(case.dtype), "check": check, "device": str(device)},
        reference,
    )


@dataclass(frozen=True)
class KnownDivergence:
    id: str
    status: str
    reason: str
    link: str
    when: dict[str, Any] = field(default_factory=dict)
    checks: tuple[str, ...] = ()
    versions: str = ""
    # False only where an order the suite does not model decides (which of tied signed zeros
    # a loop keeps, a vectorised NaN scan, which kernels flush subnormals): a pass then stays a
    # pass, not a fixed_divergence. The entry's reason says why.
    strict: bool = True

    def matches(self, facts: dict[str, Any], version: str) -> bool:
        # the default_stride check is a forward pass: entries about forward values hold there
        check = facts["check"]
        if (
            self.checks
            and check not in self.checks
            and not (check in checkdefs.ALL and checkdefs.of(check).counts_as in self.checks)
        ):
            return False
        for key, want in self.when.items():
            options = want if isinstance(want, list) else [want]
            if key == "differs_under":
                if not any(facts.variant_differs(v) for v in options):
                    return False
                continue
            if not any(holds(facts.get(key), w) for w in options):
                return False
        if self.versions:
            try:
                return Version(version) in SpecifierSet(self.versions)
            except InvalidVersion:
                return True
        return True

    def summary(self) -> dict[str, str]:
        return {"id": self.id, "reason": self.reason, "link": self.link}


def holds(fact: Any, want: Any) -> bool:
    """One `when` condition on one fact: equality of value and kind, or a bound ("<3", ">=2")."""
    if isinstance(want, str) and want[:1] in "<>" and isinstance(fact, (int, float)):
        op = want[:2] if want[1:2] == "=" else want[:1]
        bound = float(want[len(op) :])
        return {"<": fact < bound, ">": fact > bound, "<=": fact <= bound, ">=": fact >= bound}[op]
    return (fact == want and type(fact) is type(want)) or (
        isinstance(fact, (int, float))
        and not isinstance(fact, bool)
        and isinstance(want, (int, float))
        and not isinstance(want, bool)
        and fact == want
    )


def _known_dir() -> Path:
    spec = importlib.util.find_spec("backends")
    return Path(spec.origin).parent / "known"


def _path(backend: str, directory: str | None) -> Path:
    """A target's data file: given folder, else a third party's (entry point group
    `conformance.known`, value "package:relative/path.toml"), else backends/known/."""
    if directory:
        return Path(directory) / f"{backend}.toml"
    for ep in entry_points(group="conformance.known"):
        if ep.name == backend:
            package, _, relative = ep.value.partition(":")
            spec = importlib.util.find_spec(package)
            if spec is not None and spec.origin:
                return Path(spec.origin).parent / relative
    return _known_dir() / f"{backend}.toml"


@cache
def load(backend: str, directory: str | None = None) -> tuple[KnownDivergence, ...]:
    """A target's entries, then those of the targets it inherits from (registry.Target) that
    its file does not list under `not_inherited`."""
    own, skip = _load_file(_path(backend, directory))
    inherited = tuple(
        e for parent in target(backend).inherits for e in load(parent, directory) if e.id not in skip
    )
    return own + inherited


def _load_file(path: Path) -> tuple[tuple[KnownDivergence, ...], set[str]]:
    if not path.exists():
        return (), set()
    with path.open("rb") as fh:
        try:
            data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise InvalidSpec(str(path), "...", f"valid TOML ({exc})") from exc
    unknown_top = set(data) - {"divergence", "not_inherited"}
    if unknown_top:
        raise InvalidSpec(str(path), sorted(unknown_top), "top-level keys divergence, not_inherited")
    entries = []
    for i, raw in enumerate(data.get("divergence", [])):
        where = f"{path}: divergence[{i}]"
        unknown = set(raw) - _KEYS
        if unknown:
            raise InvalidSpec(where, sorted(unknown), f"keys among {sorted(_KEYS)}")
        missing = {"id", "status", "reason", "link"} - set(raw)
        if missing:
            raise InvalidSpec(where, sorted(missing), "entries with id, status, reason and link")
        entries.append(
            KnownDivergence(
                id=raw["id"],
                status=raw["status"],
                reason=raw["reason"],
                link=raw["link"],
                when=dict(raw.get("when", {})),
                checks=tuple(raw.get("checks", ())),
                versions=raw.get("versions", ""),
                strict=bool(raw.get("strict", True)),
            )
        )
    return tuple(entries), set(data.get("not_inherited", []))


def find(
    backend: str,
    version: str,
    case: Case,
    check: str,
    device: str,
    status: str | None = None,
    reference: bool = True,
) -> KnownDivergence | None:
    """The first entry whose condition holds for this case; given the raw `status`, the first
    one that also expects that status wins (two causes can apply to one case, e.g. an error
    before an overflow could happen)."""
    entries = load(backend)
    if not entries:
        return None
    facts = case_facts(case, check, device, reference)
    first = None
    for entry in entries:
        if first is not None and entry.status != status:
            continue  # once one entry holds, only one expecting the raw status can still win
        if entry.matches(facts, version):
            if status is None or entry.status == status:
                return entry
            first = entry
    return first


def unexercised(results: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Entries of the backends in `results` that matched no result: stale, or outside this run.

    A divergence fixed upstream shows up as `fixed_divergence`; an entry whose condition no
    longer matches any case (the case space or the condition changed) shows up here.
    """
    seen: dict[str, set[str]] = {}
    for r in results:
        seen.setdefault(r["backend"], set())
        if r.get("known"):
            seen[r["backend"]].add(r["known"]["id"])
    out = {}
    for backend, ids in seen.items():
        missing = [e.id for e in load(backend) if e.id not in ids]
        if missing:
            out[backend] = missing
    return out
