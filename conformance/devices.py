"""Devices: the one home of their names (a separate axis from the target, DESIGN.md §6).

`Device` is a str enum: records, case files and command lines keep writing "cpu" and "gpu",
and code compares with `Device.CPU` instead of spelling the string.
"""

from __future__ import annotations

from enum import StrEnum


class Device(StrEnum):
    CPU = "cpu"
    GPU = "gpu"


DEVICES = tuple(Device)
CHOICES = (*DEVICES, "all")  # what --device / --conformance-device accept


def expand(choice: str) -> list[str]:
    """The devices a --device choice stands for."""
    return list(DEVICES) if choice == "all" else [choice]


def available(gpu: bool) -> list[str]:
    """A target's devices: the CPU, and the GPU where its framework sees one."""
    return list(DEVICES) if gpu else [Device.CPU]
