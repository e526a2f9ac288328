"""Devices: the one home of their names (a separate axis from the target, DESIGN.md §6)."""

from __future__ import annotations

DEVICES = ("cpu", "gpu")
CHOICES = (*DEVICES, "all")  # what --device / --conformance-device accept


def expand(choice: str) -> list[str]:
    """The devices a --device choice stands for."""
    return list(DEVICES) if choice == "all" else [choice]


def available(gpu: bool) -> list[str]:
    """A target's devices: the CPU, and the GPU where its framework sees one."""
    return list(DEVICES) if gpu else ["cpu"]
