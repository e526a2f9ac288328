"""One task: a case, a target, a check and a device; its key; the record it becomes.

A NamedTuple, so that `case, backend, check, device = task` and `run_check(*task)` read as
before, while the key (`task.key`, and `record_key` for a record read back from a results file)
and the fields a record copies from its case are spelled out here only.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from conformance.devices import Device
from conformance.features import for_task
from conformance.results import Result

KEY_FIELDS = ("case_id", "backend", "check", "device")  # a record's identity within a run


class Task(NamedTuple):
    case: Any  # conformance.case.Case or conformance.errorparity.ErrorCase
    backend: str
    check: str
    device: Device = Device.CPU

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.case.id, self.backend, self.check, self.device)

    def result(self, status: str, message: str = "", **fields: Any) -> Result:
        """The record of this task (the one place a Result is built)."""
        case = self.case
        fields.setdefault("features", for_task(case, self.check, self.device))
        return Result(
            case_id=case.id,
            suite=case.suite,
            spec=case.spec.to_json(),
            input_shape=list(case.input_shape),
            dtype=case.dtype,
            family=case.family,
            backend=self.backend,
            device=self.device,
            check=self.check,
            status=status,
            message=message,
            note=getattr(case, "note", ""),
            **{"backend_version": "", **fields},
        )


def record_key(record: dict[str, Any]) -> tuple[str, ...]:
    return tuple(record[f] for f in KEY_FIELDS)
