"""The part of the case space each framework API expresses natively, as data beside the
targets (`backends/native/<space>.toml`: allowed axis values, excluded combinations, and the
targets that share the space).

A covering array over all axes mostly builds cases that some framework cannot express (one
dilated or ceil-mode axis is enough to make TensorFlow answer Unsupported), so the APIs with the
narrowest native space would get few real comparisons. Each space therefore also gets a covering
array of its own. A new target brings its space as one data file (or names an existing one);
nothing here changes. Read as data, no framework is imported.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from cases.axes import violates

FOLDER = Path(__file__).resolve().parent.parent / "backends" / "native"


def _value(v: Any) -> Any:
    return None if v == "none" else v  # TOML has no null: "none" stands for None


def _holds(a: dict[str, Any], when: dict[str, Any]) -> bool:
    for key, want in when.items():
        options = want if isinstance(want, list) else [want]
        if key not in a or a[key] not in [_value(o) for o in options]:
            return False
    return True


@cache
def spaces() -> dict[str, tuple[dict[str, list[Any]], tuple[dict, ...], tuple[str, ...]]]:
    """space name -> (allowed values per axis, exclusions, targets), in a stable order."""
    out = {}
    paths = sorted(FOLDER.glob("*.toml"))
    if not paths:  # an installation without its data files would build another suite silently
        raise RuntimeError(
            f"no native spaces in {FOLDER}: this installation lacks "
            "backends/native/*.toml (pyproject.toml's package-data ships them)"
        )
    for path in paths:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        allowed = {k: [_value(v) for v in vals] for k, vals in data.get("allowed", {}).items()}
        out[path.stem] = (allowed, tuple(data.get("exclude", [])), tuple(data.get("targets", [])))
    return out


NATIVE = list(spaces())  # the space names, in file order


def native_axes(axes: dict[str, list[Any]], space: str) -> dict[str, list[Any]]:
    allowed = spaces()[space][0]
    return {k: [v for v in vals if k not in allowed or v in allowed[k]] for k, vals in axes.items()}


def native_rule(space: str):
    excludes = spaces()[space][1]

    def rule(a: dict[str, Any]) -> str | None:
        broken = violates(a)
        if broken:
            return broken
        for ex in excludes:
            if _holds(a, ex["when"]):
                return ex["reason"]
        return None

    return rule


def space_of(target: str) -> str | None:
    """The native space a target is covered by (its first listing), if any."""
    for name, (_, _, targets) in spaces().items():
        if target in targets:
            return name
    return None


def in_space(target: str, case) -> bool:
    """A generated case lies inside the target's native space (its axis values allowed, no
    exclusion broken): the cases the target most likely computes rather than refuses."""
    space, row = space_of(target), getattr(case, "axes", None)
    if space is None or not row:
        return False
    allowed = spaces()[space][0]
    return (
        all(row.get(k) in vals for k, vals in allowed.items() if k in row) and native_rule(space)(row) is None
    )
