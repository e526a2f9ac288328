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

import yaml

from conformance.case import Case
from conformance.errors import InvalidSpec, UsageError, shorten
from conformance.spec import PoolSpec

SPEC_KEYS = (
    "op",
    "kernel",
    "stride",
    "padding",
    "dilation",
    "ceil_mode",
    "count_include_pad",
    "divisor_override",
    "layout",
    "ndim",
)
CASE_KEYS = ("name", "input_shape", "dtype", "family", "seed", "checks")
ALLOWED = SPEC_KEYS + CASE_KEYS


# Bounds on what a case file may be or expand to: no file can cost minutes or gigabytes.
MAX_FILE_BYTES = 1 << 20  # 1 MiB of text
MAX_VALUES = 100_000  # values after YAML aliases are expanded
MAX_DEPTH = 16  # nesting levels (a case needs 4: file, case list, case, padding pairs)
MAX_ALIASES = 1_000  # YAML alias uses
FORMATS = {".toml": "TOML", ".json": "JSON", ".yaml": "YAML", ".yml": "YAML"}


def _yaml_load(text: str) -> Any:

    class BoundedLoader(yaml.SafeLoader):
        """SafeLoader that stops at MAX_ALIASES alias uses (the billion-laughs bomb)."""

        aliases = 0

        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                self.aliases += 1
                if self.aliases > MAX_ALIASES:
                    raise yaml.YAMLError(f"more than {MAX_ALIASES} alias uses")
            return super().compose_node(parent, index)

    # a SafeLoader subclass: no tags, no Python objects
    return yaml.load(text, Loader=BoundedLoader)


def _parse(path: Path, text: str) -> Any:
    suffix = path.suffix.lower()
    fmt = FORMATS.get(suffix)
    if fmt is None:
        raise UsageError(
            f"{path}: unknown case-file type {shorten(repr(suffix))}; allowed .toml, .json, .yaml, .yml"
        )
    try:
        if fmt == "TOML":
            data = tomllib.loads(text)
        elif fmt == "JSON":
            data = json.loads(text)
        else:
            data = _yaml_load(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {shorten(str(exc))}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}: not valid JSON: {shorten(exc.msg)}") from None
    except RecursionError:
        raise UsageError(f"{path}: not valid {fmt} for a case file: nested too deeply") from None
    except Exception as exc:  # yaml.YAMLError and its subclasses carry a line mark
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"{path}{where}: not valid YAML: {shorten(first)}") from None
    _check_bounds(path, fmt, data)
    return data


def _check_bounds(path: Path, fmt: str, data: Any) -> None:
    """Walk the parsed data once, counting values as they would be expanded (a YAML alias
    counts each time it is used) and nesting, and stop at the bounds."""
    stack, count = [(data, 1)], 0
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise UsageError(
                f"{path}: the {fmt} expands to more than {MAX_VALUES} values "
                f"(aliases included); a case file may hold at most that"
            )
        if depth > MAX_DEPTH:
            raise UsageError(
                f"{path}: the {fmt} nests deeper than {MAX_DEPTH} levels; a case file needs at most 4"
            )
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for pair in value.items() for item in pair)
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


def _case_lines(path: Path, text: str) -> list[int]:
    """Line numbers where each case starts, where the format makes that easy to find."""
    pattern = {".toml": r"^\s*\[\[case\]\]", ".yaml": r"^\s*-\s", ".yml": r"^\s*-\s"}.get(path.suffix.lower())
    if pattern is None:
        return []
    return [i + 1 for i, line in enumerate(text.splitlines()) if re.match(pattern, line)]


def load_cases(path: str | Path, suite: str | None = None) -> list[Case]:
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UsageError(f"{path}: {size} bytes; a case file may have at most {MAX_FILE_BYTES}")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the case file ({shorten(str(exc))})") from None
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
            raise UsageError(f"{where}: unknown field(s) {shorten(repr(unknown))}; allowed {list(ALLOWED)}")
        if "input_shape" not in raw:
            raise UsageError(f"{where}: input_shape is required")
        try:
            spec = PoolSpec(**{k: _tuple(raw[k]) for k in SPEC_KEYS if k in raw})
            shape = raw["input_shape"]
            if not isinstance(shape, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in shape
            ):
                raise InvalidSpec("input_shape", shape, "a list of ints")
            seed = raw.get("seed", 0)
            if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
                raise InvalidSpec("seed", seed, "an int >= 0")
            checks = raw.get("checks")
            if checks is not None and not (
                isinstance(checks, list) and all(isinstance(c, str) for c in checks)
            ):
                raise InvalidSpec("checks", checks, "a list of check names")
            name = raw.get("name")
            if name is not None and not (isinstance(name, str) and re.fullmatch(r"[\w.,+-]{1,120}", name)):
                raise InvalidSpec("name", name, "1-120 letters, digits and . , + - _")
            case = Case(
                spec,
                tuple(shape),
                dtype=raw.get("dtype", "float32"),
                family=raw.get("family", "distinct"),
                seed=seed,
                suite=suite,
                name=name,
                checks=tuple(checks) if checks is not None else None,
            )
        except InvalidSpec as exc:
            raise UsageError(f"{where}: {exc}") from None
        except TypeError as exc:  # an unhashable or otherwise unusable value
            raise UsageError(f"{where}: {shorten(str(exc))}") from None
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
