"""Registry: lazy loading, unavailable backends with reasons, no framework on import."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from conformance import BackendUnavailable, registry


def test_importing_conformance_and_cases_imports_no_framework():
    code = textwrap.dedent("""
        import sys
        import conformance, cases
        from cases import get_suite
        get_suite("smoke"); get_suite("seeds")
        loaded = [m for m in ("torch", "tensorflow", "jax", "jaxlib") if m in sys.modules]
        assert not loaded, loaded
        print("clean")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "clean" in out.stdout


def test_missing_framework_makes_backend_unavailable_not_importerror():
    registry.register("ghost", "backends_that_do_not_exist.ghost:GhostBackend")
    try:
        assert "ghost" in registry.names()
        assert "ghost" not in registry.available()
        why = registry.reason("ghost")
        assert why and "ModuleNotFoundError" in why and "ghost" in why
        with pytest.raises(BackendUnavailable):
            registry.get("ghost")
    finally:
        registry._extra.pop("ghost")
        registry._failed.pop("ghost", None)


def test_unknown_backend_is_a_clear_error():
    with pytest.raises(BackendUnavailable, match="unknown backend 'nosuch'; known: numpy"):
        registry.get("nosuch")


def test_a_design_name_without_a_target_says_why(monkeypatch):
    # DESIGN.md §6 names a path this project has no target for yet: asking for it gives the
    # recorded reason, not "unknown backend"; no name is both a target and "not yet" (every
    # §6 name is a target today, so the mechanism is tried on a made-up one)
    assert not set(registry.NOT_YET) & set(registry.TARGETS)
    monkeypatch.setitem(registry.NOT_YET, "coreml-onnx", "no target module yet (made up by this test)")
    name, why = "coreml-onnx", registry.NOT_YET["coreml-onnx"]
    with pytest.raises(BackendUnavailable, match=f"{name} is not a target here yet: "):
        registry.get(name)
    assert why in registry.reason(name)
    assert name not in registry.names()


def test_reference_is_always_available():
    assert registry.REFERENCE in registry.available()


def test_plugin_rejects_an_explicit_unavailable_backend(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/test_parity.py",
            "--backends",
            "numpy,nosuch",
            "-q",
            "-p",
            "no:cacheprovider",
            "--collect-only",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 4, out.stdout + out.stderr  # pytest's usage error
    assert "nosuch" in out.stderr
