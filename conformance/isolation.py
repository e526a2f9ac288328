"""Running tasks in worker processes, so that a framework that segfaults, aborts, hangs or
runs out of memory costs one result (`crash` or `timeout`), never the run.

Each worker is a spawned process (frameworks hold threads, so no fork) that imports backends
lazily and answers one task at a time over a pipe; its stderr goes to a file whose last lines
explain a crash. A dead or hung worker is replaced by a fresh one. Results come back in task
order whatever the number of workers, so a parallel run writes the same records as a serial one.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import traceback
from collections.abc import Iterator
from multiprocessing.connection import Connection, wait
from pathlib import Path

from conformance import checks, environments, packages, registry, runner
from conformance.results import Result
from conformance.runner import classify
from conformance.task import Task

DEFAULT_TIMEOUT = 300.0  # seconds per task
FOLDER_PREFIX = "conformance-workers-"  # + the owning run's pid: stale ones are recognisable


def _remove_stale_folders() -> None:
    """Worker folders left by runs that were killed (kill -9 leaves no chance to clean up)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*"):
        pid = folder.name[len(FOLDER_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _worker_main(conn: Connection, stderr_path: str, extra: dict[str, str]) -> None:
    """Worker loop: (index, task) in, ("begin", index) and then (index, Result) out; None ends
    it. The "begin" restarts the task's timeout clock: a worker spawned under load may take
    seconds to import before it reads its first task, and that is not the task's time."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    fd = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(fd, 2)
    os.dup2(fd, 1)  # a framework printing to stdout (TorchScript export dumps its graph) too

    for name, target in extra.items():
        registry.register(name, target)
    while True:
        message = conn.recv()
        if message is None:
            return
        if message[0] == "probe":  # which backends load here, their versions and devices
            conn.send(("probe", _probe(registry, message[1])))
            continue
        if message[0] == "reproducer":  # (name, case, check) -> the script, or why there is none
            conn.send(("reproducer", checks.reproducer_for(*message[1:])))
            continue
        index, task = message
        conn.send(("begin", index))  # the task's clock starts now, not at the worker's spawn
        try:
            result = runner.run_check(*task)
        except BaseException as exc:  # run_check records failures itself; this is a last resort
            result = _failed(task, "error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        conn.send((index, result))


def _probe(registry, names: list[str] | None) -> dict[str, dict]:
    info = {}
    for name in names or registry.names():
        try:
            b = registry.get(name)
            info[name] = {"version": b.version, "devices": b.devices(), "default_stride": b.default_stride}
        except Exception as exc:  # BackendUnavailable, or a broken install
            info[name] = {"reason": str(exc)}
    return info


def _failed(task, status: str, message: str) -> Result:
    return Task(*task).result(status, message[:4000])


class _Foreign:
    """A worker in another Python environment (conformance.environments), started as
    `python -m conformance.worker` with this suite's source on its path and nothing of this
    environment's: the slice of multiprocessing.Process that _Worker uses."""

    def __init__(self, python: Path, child: Connection, stderr: str, extra: dict[str, str], folder: str):
        source = Path(folder, "source")  # the suite's own packages, and only them
        if not source.exists():
            source.mkdir()
            for name in ("conformance", *packages.SIBLINGS):
                (source / name).symlink_to(packages.ROOT / name, target_is_directory=True)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        env["PYTHONPATH"] = str(source)
        fd = child.fileno()
        with open(stderr, "ab") as log:  # an interpreter that fails before the worker starts
            self._popen = subprocess.Popen(
                [str(python), "-m", "conformance.worker", str(fd), stderr, json.dumps(extra)],
                pass_fds=(fd,),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
                cwd=folder,
            )
        if hasattr(os, "pidfd_open"):  # readable when the process ends
            self.sentinel = os.pidfd_open(self._popen.pid)
            self._fds = [self.sentinel]
        else:  # never readable: a dead worker's pipe reports EOF, which tells the same
            self.sentinel, spare = os.pipe()
            self._fds = [self.sentinel, spare]

    @property
    def exitcode(self) -> int | None:
        return self._popen.poll()

    def is_alive(self) -> bool:
        return self._popen.poll() is None

    def kill(self) -> None:
        self._popen.kill()

    def join(self, timeout: float | None = None) -> None:
        try:
            self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return
        while self._fds:
            os.close(self._fds.pop())


class _Worker:
    def __init__(self, ctx, extra: dict[str, str], folder: str, python: Path | None = None):
        fd, self.stderr = tempfile.mkstemp(prefix="worker-", suffix=".stderr", dir=folder)
        os.close(fd)
        if python is None:
            self.conn, child = ctx.Pipe()
            self.process = ctx.Process(target=_worker_main, args=(child, self.stderr, extra), daemon=True)
            self.process.start()
        else:
            mine, theirs = socket.socketpair()
            self.conn, child = Connection(mine.detach()), Connection(theirs.detach())
            self.process = _Foreign(python, child, self.stderr, extra, folder)
        child.close()
        self.task: tuple | None = None
        self.started = 0.0

    def send(self, index: int, task) -> None:
        self.task = (index, task)
        self.started = time.monotonic()
        self.conn.send((index, task))

    def tail(self, lines: int = 8) -> str:
        try:
            text = Path(self.stderr).read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(text[-lines:])

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)

    def close(self) -> None:
        if self.task is None:  # idle: ask it to end; a busy one (Ctrl-C, timeout) is killed
            try:
                self.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
            self.process.join(5)
        self.kill()
        Path(self.stderr).unlink(missing_ok=True)


def _death(worker: _Worker) -> str:
    code = worker.process.exitcode
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        cause = f"killed by {name}"
    else:
        cause = f"exited with status {code}"
    tail = worker.tail()
    return f"worker process {cause}" + (f"; last stderr: {tail}" if tail else "")


class WorkerPool:
    """`jobs` shared worker processes, plus one dedicated worker for each target that needs a
    process of its own (registry.Target.own_process: the Keras targets, since Keras picks its
    backend once per process). `probe` asks the workers which targets load (so this process
    never imports a framework), `run` computes tasks in order."""

    def __init__(
        self, jobs: int = 1, timeout: float = DEFAULT_TIMEOUT, extra_backends: dict[str, str] | None = None
    ):
        self.extra = dict(registry._extra) | dict(extra_backends or {})
        self.timeout = timeout
        self.ctx = multiprocessing.get_context("spawn")
        _remove_stale_folders()
        self.folder = tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-")
        self.workers = [self._new() for _ in range(max(1, jobs))]
        self.own: dict[str, _Worker] = {}  # target -> its dedicated worker

    def _new(self, name: str | None = None) -> _Worker:
        """A shared worker, or target `name`'s own: in its side environment where it has one
        that is set up (where not, a plain worker says why the target cannot load)."""
        side = registry.target(name).environment if name else ""
        return _Worker(self.ctx, self.extra, self.folder, environments.interpreter(side) if side else None)

    @staticmethod
    def _needs_own(name: str) -> bool:
        return registry.target(name).own_process

    def _own(self, name: str) -> _Worker:
        if name not in self.own:
            self.own[name] = self._new(name)
        return self.own[name]

    def _answer(self, worker: _Worker, what: str):
        if not worker.conn.poll(self.timeout):
            raise RuntimeError(f"worker did not answer the {what}; stderr: {worker.tail()}")
        return worker.conn.recv()[1]

    def probe(self, names: list[str] | None = None) -> dict[str, dict]:
        """Which targets load, with versions and devices. Every worker is asked before any
        answer is read, so the frameworks import in parallel (the shared worker imports the
        shared targets' frameworks while each Keras worker imports its own)."""
        names = names or registry.names()
        shared = [n for n in names if not self._needs_own(n)]
        asked = [(self.workers[0], shared)] if shared else []
        asked += [(self._own(n), [n]) for n in names if self._needs_own(n)]
        for worker, which in asked:
            worker.conn.send(("probe", which))
        info: dict[str, dict] = {}
        for worker, _ in asked:
            info |= self._answer(worker, "backend probe")
        return {n: info[n] for n in names}

    def reproducer(self, name: str, case, check: str) -> str:
        """The target's standalone reproducer script, written where the target loads."""
        worker = self._own(name) if self._needs_own(name) else self.workers[0]
        worker.conn.send(("reproducer", name, case, check))
        return self._answer(worker, "reproducer request")

    def close(self) -> None:
        for w in [*self.workers, *self.own.values()]:
            w.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def run(self, tasks: list) -> Iterator[Result]:
        """Yield one Result per task, in task order."""
        timeout = self.timeout
        # lanes: (worker slot, its queue); shared workers share one queue, an own-process
        # target's worker has its own. Queues pop() from the end = task order.
        shared_queue: list = []
        queues: dict[str, list] = {}
        for item in reversed(list(enumerate(tasks))):
            name = item[1][1]
            (queues.setdefault(name, []) if self._needs_own(name) else shared_queue).append(item)
        lanes = [("shared", i, shared_queue) for i in range(len(self.workers))]
        lanes += [("own", name, queue) for name, queue in queues.items()]

        def worker_of(kind, slot):
            return self.workers[slot] if kind == "shared" else self._own(slot)

        def replace(kind, slot):
            if kind == "shared":
                self.workers[slot] = self._new()
            else:
                self.own[slot] = self._new(slot)

        done: dict[int, Result] = {}
        next_out = 0
        while next_out < len(tasks):
            for kind, slot, queue in lanes:
                w = worker_of(kind, slot)
                if w.task is None and queue:
                    w.send(*queue.pop())
            busy = [worker_of(kind, slot) for kind, slot, _ in lanes]
            busy = [w for w in busy if w.task is not None]
            ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=1.0)
            now = time.monotonic()
            for kind, slot, _ in lanes:
                w = worker_of(kind, slot)
                if w.task is None:
                    continue
                index, task = w.task
                if w.conn in ready:
                    try:
                        got_index, result = w.conn.recv()
                        if got_index == "begin":  # a fresh worker's start-up is not the task's
                            w.started = now
                            continue
                        done[got_index] = result
                        w.task = None
                        continue
                    except (EOFError, OSError):
                        pass  # died while answering: handled as a crash below
                if w.conn in ready or w.process.sentinel in ready or not w.process.is_alive():
                    w.process.join(5)
                    done[index] = _failed(task, "crash", _death(w))
                elif now - w.started > timeout:
                    w.kill()
                    done[index] = _failed(
                        task,
                        "timeout",
                        f"no answer within {timeout:g} s; worker killed. Last stderr: {w.tail()}",
                    )
                else:
                    continue
                w.close()
                replace(kind, slot)
            while next_out in done:
                result = done.pop(next_out)
                if result.status in ("crash", "timeout"):
                    result = classify(result, tasks[next_out][0], reference=False)
                yield result
                next_out += 1


def run_isolated(
    tasks: list, jobs: int = 1, timeout: float = DEFAULT_TIMEOUT, extra_backends: dict[str, str] | None = None
) -> Iterator[Result]:
    """Yield one Result per task, in task order, computed in `jobs` worker processes."""
    pool = WorkerPool(jobs, timeout, extra_backends)
    try:
        yield from pool.run(tasks)
    finally:
        pool.close()
