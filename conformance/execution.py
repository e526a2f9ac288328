"""How a run's tasks get computed: which targets load, and an iterator of results in task order.

Two ways, one interface (`Execution`): isolated (the default; worker processes from
conformance.isolation, so a crash or hang costs one result and this process never imports a
framework) or in this process (`--no-isolate`, optionally spread over spawned processes that do
not survive a crash). The CLI picks one and only writes what comes back; the pytest plugin uses
the same worker pool for targets that need a process of their own.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

from conformance import checks, registry, runner
from conformance.errors import UsageError
from conformance.isolation import WorkerPool
from conformance.results import Result

WORKER_MEMORY = 1.2e9  # bytes a worker with every framework loaded may take (measured peak)


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def cap_jobs(jobs: int) -> int:
    """No more workers than the memory holds (about 1.2 GB each with every framework)."""
    try:
        with open("/proc/meminfo") as fh:
            info = dict(line.split(":", 1) for line in fh)
        available = int(info["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return jobs
    most = max(1, int(available // WORKER_MEMORY))
    if jobs > most:
        print(
            f"conformance: --jobs {jobs} would need about {jobs * WORKER_MEMORY / 1e9:.1f} GB; "
            f"{available / 1e9:.1f} GB are available: using --jobs {most}",
            file=sys.stderr,
        )
        return most
    return jobs


def asked_targets(arg: str | None) -> list[str] | None:
    """The names a `--backends` value lists, or None for "every available target"."""
    names = [n.strip() for n in arg.split(",") if n.strip()] if arg else []
    return names or None


def available_here(arg: str | None) -> list[str]:
    """The targets a `--backends` value selects, checked by importing them in this process."""
    names = asked_targets(arg)
    if names is None:
        return registry.available()
    for n in names:
        why = registry.reason(n)
        if why:
            raise UsageError(f"--backends: {why}")
    return names


class Execution:
    """The targets that loaded (`backends`, with version and devices in `info`) and `run`."""

    backends: list[str]
    info: dict[str, dict]
    # the registered targets that did not load, with the reason (a run of every available
    # target says which it left out: a side environment not set up, a framework not installed)
    unavailable: dict[str, str]

    def run(self, tasks: list) -> Iterator[Result]:
        raise NotImplementedError

    def reproducer(self, name: str, case, check: str) -> str:
        """A target's standalone reproducer script for a case (where the target loads)."""
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> Execution:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Isolated(Execution):
    """Every task in a worker process; the frameworks load in the workers only."""

    def __init__(self, backends_arg: str | None, jobs: int, timeout: float):
        self.pool = WorkerPool(jobs, timeout)
        asked = asked_targets(backends_arg)
        try:
            probed = self.pool.probe(asked)
            missing = [v["reason"] for v in probed.values() if "reason" in v]
            if asked and missing:
                raise UsageError(f"--backends: {'; '.join(missing)}")
        except BaseException:
            self.pool.close()
            raise
        self.backends = [n for n, v in probed.items() if "reason" not in v]
        self.info = {n: probed[n] for n in self.backends}
        self.unavailable = {n: v["reason"] for n, v in probed.items() if "reason" in v}

    def run(self, tasks: list) -> Iterator[Result]:
        return self.pool.run(tasks)

    def reproducer(self, name: str, case, check: str) -> str:
        return self.pool.reproducer(name, case, check)

    def close(self) -> None:
        self.pool.close()


class InProcess(Execution):
    """`--no-isolate`: in this process (jobs 1) or in spawned processes without crash recovery."""

    def __init__(self, backends_arg: str | None, jobs: int):
        self.jobs = jobs
        self.backends = available_here(backends_arg)
        left = [] if backends_arg else [n for n in registry.names() if n not in self.backends]
        self.unavailable = {n: registry.reason(n) or "" for n in left}
        self.info = {
            n: {"version": registry.get(n).version, "devices": registry.get(n).devices()}
            for n in self.backends
        }

    def reproducer(self, name: str, case, check: str) -> str:
        return checks.reproducer_for(name, case, check)

    def run(self, tasks: list) -> Iterator[Result]:
        if self.jobs <= 1:
            for task in tasks:
                yield runner.run_check(*task)
            return

        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=self.jobs, mp_context=ctx, initializer=_ignore_sigint) as pool:
            yield from pool.map(_run_task, tasks, chunksize=max(1, len(tasks) // (self.jobs * 8)))


def start(backends_arg: str | None, *, isolate: bool, jobs: int, timeout: float) -> Execution:
    """The execution a run asked for, with its targets loaded (a UsageError names a missing one)."""
    return Isolated(backends_arg, jobs, timeout) if isolate else InProcess(backends_arg, jobs)


def _ignore_sigint() -> None:

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C for everyone


def _run_task(task):
    return runner.run_check(*task)
