"""The suite's sibling import packages `backends` and `cases`, resolved from where this
distribution is installed, never from the current folder.

The layout ships three top-level packages (DESIGN.md §1). `python -m conformance` puts the
current folder first on sys.path, so a user's own `backends/` or `cases/` folder would
otherwise shadow ours (and every target would look unavailable). They are bound lazily, when
the registry or a suite first needs them, so that merely having the pytest plugin installed
never takes those names from a user's project.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from conformance.errors import UsageError

ROOT = Path(__file__).resolve().parent.parent  # holds conformance/, backends/ and cases/
SIBLINGS = ("backends", "cases")


def _ours(module: ModuleType) -> bool:
    where = getattr(module, "__file__", None) or ""
    return bool(where) and Path(where).resolve().parent.parent == ROOT


def ensure(*names: str) -> None:
    """Bind each sibling package (default: all) to this distribution's copy."""
    for name in names or SIBLINGS:
        module = sys.modules.get(name)
        if module is not None:
            if _ours(module):
                continue
            raise UsageError(
                f"a module named {name!r} ({getattr(module, '__file__', None) or 'built in'}) "
                f"was imported before the suite's own {ROOT / name}; import conformance's "
                f"packages first or rename yours"
            )
        init = ROOT / name / "__init__.py"
        spec = importlib.util.spec_from_file_location(
            name, init, submodule_search_locations=[str(init.parent)]
        )
        if spec is None or spec.loader is None:
            raise UsageError(f"the suite's package {name!r} is missing at {init.parent}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise


def load(dotted: str) -> ModuleType:
    """The suite's own module `dotted` ("cases", "cases.native", "backends.onnx_model"), its
    package bound by `ensure` first: modules of `conformance` reach the siblings through this,
    never by an import statement that a user's folder could answer."""
    ensure(dotted.partition(".")[0])
    return importlib.import_module(dotted)
