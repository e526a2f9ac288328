"""Hand-written case files (TOML, JSON or YAML), read with safe loaders only (no pickle, no
eval, no YAML tags), validated field by field.

    [[case]]                       # TOML; JSON/YAML: {"case": [{...}, ...]}
    name = "my-resnet-stem"        # optional: replaces the generated id
    op = "max"                     # every PoolSpec field: kernel, stride, padding, dilation,
    kernel = [3, 3]                #   ceil_mode, count_include_pad, divisor_override, layout, ndim
    stride = [2, 2]
    padding = 1
    input_shape = [1, 64, 112, 112]
    dtype = "float32"              # optional, default float32
    family = "distinct"            # optional
    seed = 0                       # optional
    checks = ["forward", "grad"]   # optional

Any error is a `UsageError` naming the file, the line of the case where the format gives one,
the field, the value and what is allowed.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from conformance.case import Case
from conformance.errors import InvalidSpec, UsageError
from conformance.spec import PoolSpec

SPEC_KEYS = ("op", "kernel", "stride", "padding", "dilation", "ceil_mode", "count_include_pad",
             "divisor_override", "layout", "ndim")
CASE_KEYS = ("name", "input_shape", "dtype", "family", "seed", "checks")
ALLOWED = SPEC_KEYS + CASE_KEYS


def _parse(path: Path, text: str) -> Any:
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            return tomllib.loads(text)
        if suffix == ".json":
            return json.loads(text)
        if suffix in (".yaml", ".yml"):
            import yaml

            return yaml.safe_load(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    except Exception as exc:  # yaml.YAMLError and its subclasses carry a line mark
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise UsageError(f"{path}{where}: not valid YAML: {exc}".splitlines()[0]) from None
    raise UsageError(f"{path}: unknown case-file type {suffix!r}; allowed .toml, .json, .yaml, .yml")


def _case_lines(path: Path, text: str) -> list[int]:
    """Line numbers where each case starts, where the format makes that easy to find."""
    pattern = {".toml": r"^\s*\[\[case\]\]", ".yaml": r"^\s*-\s", ".yml": r"^\s*-\s"}.get(path.suffix.lower())
    if pattern is None:
        return []
    return [i + 1 for i, line in enumerate(text.splitlines()) if re.match(pattern, line)]


def load_cases(path: str | Path, suite: str | None = None) -> list[Case]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the case file ({exc})") from None
    data = _parse(path, text)
    if not isinstance(data, dict) or not isinstance(data.get("case"), list) or not data["case"]:
        raise UsageError(f"{path}: expected a non-empty list of cases under the key 'case'")
    lines = _case_lines(path, text)
    suite = suite or f"file:{path.name}"
    out, seen = [], set()
    for i, raw in enumerate(data["case"]):
        where = f"{path}:{lines[i]}" if i < len(lines) else f"{path}"
        where += f": case[{i}]"
        if not isinstance(raw, dict):
            raise UsageError(f"{where}: each case is a table of fields, got {type(raw).__name__}")
        unknown = sorted(set(raw) - set(ALLOWED))
        if unknown:
            raise UsageError(f"{where}: unknown field(s) {unknown}; allowed {list(ALLOWED)}")
        if "input_shape" not in raw:
            raise UsageError(f"{where}: input_shape is required")
        try:
            spec = PoolSpec(**{k: _tuple(raw[k]) for k in SPEC_KEYS if k in raw})
            shape = raw["input_shape"]
            if not isinstance(shape, list) or not all(isinstance(v, int) and not isinstance(v, bool)
                                                      for v in shape):
                raise InvalidSpec("input_shape", shape, "a list of ints")
            seed = raw.get("seed", 0)
            if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
                raise InvalidSpec("seed", seed, "an int >= 0")
            checks = raw.get("checks")
            if checks is not None and not (
                    isinstance(checks, list) and all(isinstance(c, str) for c in checks)):
                raise InvalidSpec("checks", checks, "a list of check names")
            name = raw.get("name")
            if name is not None and not (isinstance(name, str) and re.fullmatch(r"[\w.,+-]{1,120}", name)):
                raise InvalidSpec("name", name, "1-120 letters, digits and . , + - _")
            case = Case(spec, tuple(shape), dtype=raw.get("dtype", "float32"),
                        family=raw.get("family", "distinct"), seed=seed, suite=suite, name=name,
                        checks=tuple(checks) if checks is not None else None)
        except InvalidSpec as exc:
            raise UsageError(f"{where}: {exc}") from None
        except TypeError as exc:  # an unhashable or otherwise unusable value
            raise UsageError(f"{where}: {exc}") from None
        if case.id in seen:
            raise UsageError(f"{where}: duplicate case id {case.id!r}")
        seen.add(case.id)
        out.append(case)
    return out


def _tuple(value: Any) -> Any:
    """Lists from the file become tuples (nested for padding pairs); the rest as written."""
    if isinstance(value, list):
        return tuple(_tuple(v) for v in value)
    return value
