"""Every target has each of its facts, each in its one home (issue 24): its line in
`registry.TARGETS` (class, framework, mode, inheritance, costs), its module, its known-divergence
file, the native space that covers it, and its row in the README's target table. A target
added without one of them fails here, by name. Nothing here imports a framework."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from cases.native import space_of
from conformance import known, registry

ROOT = Path(__file__).resolve().parent.parent
TARGETS = [n for n in registry.TARGETS if n != registry.REFERENCE]


@pytest.mark.parametrize("name", TARGETS)
def test_a_target_has_every_fact(name):
    target = registry.TARGETS[name]
    module, _, cls = target.path.partition(":")
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, f"{name}: no module {module}"
    assert re.search(rf"^class {cls}\b", Path(spec.origin).read_text(), re.M), (
        f"{name}: {module} defines no class {cls}"
    )
    assert (ROOT / "backends" / "known" / f"{name}.toml").exists(), (
        f"{name}: no backends/known/{name}.toml (an empty file says 'no known divergence')"
    )
    assert space_of(name) is not None, f"{name}: no backends/native/*.toml lists it in targets"
    assert all(parent in registry.TARGETS for parent in target.inherits)
    assert target.cost > 0 and (target.first_run_cases is None or target.first_run_cases > 0)
    assert name in _readme_targets(), f"{name}: no row in the README's target table"
    known.load(name)  # its data parses


def _readme_targets() -> set[str]:
    """The names in the first cells of the README's target table (`## Targets`)."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Targets") :]
    start = section.index("| target |")
    table = section[start : section.index("\n\n", start)]
    first_cells = [row.split("|")[1] for row in table.splitlines()[2:]]
    return {n for cell in first_cells for n in re.findall(r"`([a-z0-9-]+)`", cell)}


def test_the_readme_lists_no_target_that_does_not_exist():
    assert _readme_targets() <= set(registry.TARGETS)
