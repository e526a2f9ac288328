"""A run folder: its records, its environment, its report files, and who owns it.

One home for everything `run`, `report`, `diff` and `--resume` do with a folder on disk, so the
rules hold everywhere alike:

- **One owner.** A run holds an exclusive lock (`.lock`, fcntl) on its folder while it writes;
  a second run into the same folder is refused with the owner's pid. The run removes the file
  when it ends, so a finished folder has none.
- **No silent replacement.** A new run refuses a folder that already holds records unless told
  `--replace`; replacing removes the old records and every old report file first, so a re-run
  never leaves the previous run's report beside new partial results.
- **Robust reading.** A torn last line (what `kill -9` leaves mid-write) is dropped; anything
  else that is not a JSON record (binary junk, a hand edit) is a one-line `UsageError` naming
  the line.
- **Atomic writes.** environment.json and report files are written to a temporary name and
  renamed.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from conformance.errors import UsageError
from conformance.task import record_key

RESULTS = "results.jsonl"
ENVIRONMENT = "environment.json"
REPORT_FILES = ("report.html", "summary.csv", "summary.md", "summary.json", "junit.xml")
LOCK = ".lock"


def key(record: dict[str, Any]) -> tuple[str, ...]:
    """A record's identity in a run: case x target x check x device (conformance.task)."""
    return record_key(record)


def atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8", errors="backslashreplace")
    tmp.replace(path)


def results_path(source: str | Path) -> Path:
    """results.jsonl of a run folder, or the file itself."""
    p = Path(source)
    return p / RESULTS if p.is_dir() else p


def read_records(path: str | Path, *, repair: bool = False) -> list[dict[str, Any]]:
    """Every record of a results file. A torn last line is dropped (and, with `repair`, cut
    from the file so appending can go on); any other unreadable line is a UsageError."""
    path = Path(path)
    if not path.exists():
        return []
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    good, cut = [], None
    offset = 0
    for i, line in enumerate(lines):
        last = i == len(lines) - 1 or (i == len(lines) - 2 and lines[-1] == b"")
        if line.strip():
            try:
                record = json.loads(line.decode("utf-8"))
                if not isinstance(record, dict) or not {
                    "case_id",
                    "backend",
                    "check",
                    "device",
                    "status",
                } <= set(record):
                    raise ValueError("not a result record")
                good.append(record)
            except (UnicodeDecodeError, ValueError):
                if not last:
                    raise UsageError(
                        f"{path}:{i + 1}: not a result record (a JSON object per line); the file is damaged"
                    ) from None
                cut = offset
        offset += len(line) + 1
    if cut is not None and repair:
        with path.open("r+b") as fh:
            fh.truncate(cut)
    return good


def read_environment(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / ENVIRONMENT
    if not path.exists():
        raise UsageError(f"{folder}: no {ENVIRONMENT} there (not a run folder)")
    try:
        env = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{path}: damaged ({type(exc).__name__}: {str(exc)[:200]})") from None
    if not isinstance(env, dict):
        raise UsageError(f"{path}: damaged (not a JSON object)")
    return env


def write_environment(folder: Path, env: dict[str, Any]) -> None:
    atomic_write(folder / ENVIRONMENT, json.dumps(env, indent=2, sort_keys=True))


def prepare(folder: Path) -> None:
    """Create the folder, or say in one line why it cannot be used."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"--out {folder}: cannot use it as a run folder ({exc.strerror or exc})") from None


def holds_records(folder: Path) -> int:
    """How many records the folder holds (0 for none or an empty file)."""
    path = folder / RESULTS
    if not path.exists() or not path.is_file() or path.stat().st_size == 0:
        return 0
    return len(read_records(path))


def clear(folder: Path) -> None:
    """Remove a previous run's records, environment and report files."""
    for name in (RESULTS, ENVIRONMENT, *REPORT_FILES):
        (folder / name).unlink(missing_ok=True)


@contextlib.contextmanager
def owned(folder: Path) -> Iterator[None]:
    """Hold the folder's lock for the duration; refuse if another run holds it. The lock file
    is removed when the run ends (a finished folder holds no `.lock`); a `.lock` left behind
    belongs to a run that is still going, or was killed (the next run takes it over)."""
    path = folder / LOCK
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            owner = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            raise UsageError(
                f"run folder {folder} is in use by another run (pid {owner}); "
                f"choose another --out or wait for it"
            ) from None
        try:  # the file we locked may have been removed by the run that just ended: retry
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        path.unlink(missing_ok=True)  # while still locked: nobody else holds this file
        os.close(fd)  # closing releases the lock


def cases_hash(cases) -> str:
    """One hash over every case id and input byte: equal on any machine for the same seed."""
    digest = hashlib.sha256()
    for case in cases:
        digest.update(case.id.encode())
        digest.update(case.make_input().tobytes())
    return digest.hexdigest()[:16]


def check_resumable(
    folder: Path, previous: dict, env: dict, tasks: list, done: list[dict], retry_crashed: bool
) -> list[dict]:
    """The records already there must be this run's: same cases (hash), same target versions,
    keys among the tasks, no duplicates. Returns the records to keep."""
    if previous.get("cases_hash") != env["cases_hash"]:
        raise UsageError(
            f"--resume {folder}: its records were made from other cases (case/input "
            f"hash {previous.get('cases_hash')}, here {env['cases_hash']}); start a "
            f"new run"
        )
    for name, info in env["backends"].items():
        before = (previous.get("backends") or {}).get(name, {}).get("version")
        if before != info.get("version"):
            raise UsageError(
                f"--resume {folder}: {name} is {info.get('version')} here, the "
                f"records were made with {before}; start a new run"
            )
    wanted = {t.key for t in tasks}
    seen: set = set()
    for r in done:
        k = key(r)
        if k not in wanted:
            raise UsageError(
                f"--resume {folder}: a record ({' / '.join(k)}) is not a task of "
                f"this run (another suite's?); start a new run"
            )
        if k in seen:
            raise UsageError(
                f"--resume {folder}: the record {' / '.join(k)} appears twice; the "
                f"folder was written by two runs; start a new run"
            )
        seen.add(k)
    if retry_crashed:
        return [r for r in done if r["status"] not in ("crash", "timeout")]
    return done


def records_by_key(path: str) -> dict[tuple, dict]:
    """The records of a run (folder or results file) by their key."""
    p = results_path(path)
    if not p.exists():
        raise UsageError(f"{path}: no results.jsonl there")
    return {key(r): r for r in read_records(p)}


def is_partial(path: str) -> bool:
    """Whether the run there stopped before its last task (environment.json says so)."""
    folder = Path(path) if Path(path).is_dir() else Path(path).parent
    try:
        return bool(read_environment(folder).get("partial"))
    except UsageError:
        return False


def compared_any(path: Path) -> bool:
    """Whether a results file holds a result that compared something (not `unsupported`)."""
    return any(r["status"] != "unsupported" for r in read_records(path))
