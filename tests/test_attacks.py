"""An adversarial user's attacks on the run folder, the inputs and the outputs (issue 10): each
test reproduces one attack and asserts the guarantee the README states."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import xml.dom.minidom
from pathlib import Path

import pytest

from conformance import known
from conformance.isolation import FOLDER_PREFIX, run_isolated
from conformance.known import KnownDivergence
from conformance.report import write_report
from conformance.results import Result, ResultWriter
from tests.fake_backends import environment

FAKE = ("--backends", "fake-exact")


def _cli(*args, timeout=300, env=None):
    return subprocess.run(
        [sys.executable, "-m", "conformance", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or environment("fake-exact"),
    )


def _one_line_error(out, code=2):
    assert out.returncode == code, (out.returncode, out.stderr[-2000:])
    assert "Traceback" not in out.stderr, out.stderr[-2000:]
    assert "error" in out.stderr


def _records(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines()]


def _wait_for_records(proc, path: Path, count: int, limit: float = 60, suite: str = "") -> None:
    """Until `count` records (of `suite`, if given) are in the file, while `proc` runs."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and proc.poll() is None:
        if path.exists():
            lines = path.read_text().splitlines()
            if len([line for line in lines if f'"suite": "{suite}"' in line or not suite]) >= count:
                return
        time.sleep(0.05)
    raise AssertionError(f"no {count} records within {limit} s (exit {proc.poll()})")


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """One finished fake-exact smoke run, copied by the tests that tamper with it."""
    out = tmp_path_factory.mktemp("smoke") / "run"
    done = _cli("run", "--suite", "smoke", *FAKE, "--out", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    return out


def _copy(folder: Path, to: Path) -> Path:
    to.mkdir()
    for name in ("results.jsonl", "environment.json"):
        (to / name).write_bytes((folder / name).read_bytes())
    return to


# ---- 1. time limits -----------------------------------------------------------------------
def test_a_hostile_geometry_is_refused_before_it_can_hang(tmp_path):
    bomb = tmp_path / "huge.toml"
    bomb.write_text(
        '[[case]]\nop = "avg"\nkernel = [20000, 20000]\npadding = 9999\ninput_shape = [1, 1, 2, 2]\n'
    )
    start = time.monotonic()
    out = _cli("run", "--suite", str(bomb), *FAKE, "--timeout", "30", "--out", str(tmp_path / "r"))
    _one_line_error(out)
    assert "kernel" in out.stderr and "window positions" in out.stderr
    assert time.monotonic() - start < 60


def test_the_parent_never_computes_the_reference_for_a_timeout(monkeypatch):
    """A timed-out task is classified from static facts only: the reference (what may have
    hung) is never run without a time limit in the parent."""
    from conformance import Case, PoolSpec

    entry = KnownDivergence(
        "needs-reference", "timeout", "r", "no public report found", when={"differs_under": "nan_ignored"}
    )
    monkeypatch.setattr(known, "load", lambda backend, directory=None: (entry,))

    def forbidden(*args, **kwargs):
        raise AssertionError("the parent computed the reference")

    from conformance import diagnosis

    monkeypatch.setattr(diagnosis, "differs_under", forbidden)
    hang = Case(PoolSpec(op="max", kernel=2), (3, 1, 4, 4), checks=("forward",))  # N=3 hangs
    results = list(
        run_isolated(
            [(hang, "fake-faulty", "forward", "cpu")],
            timeout=3,
            extra_backends={"fake-faulty": "tests.fake_backends:FaultyBackend"},
        )
    )
    assert [r.status for r in results] == ["timeout"]


def test_no_isolate_says_it_has_no_time_limit(tmp_path):
    out = _cli("run", "--suite", "seeds", "--backends", "numpy", "--no-isolate", "--out", str(tmp_path / "r"))
    assert out.returncode == 0 and "without a time limit" in out.stderr


# ---- 2. one owner per run folder --------------------------------------------------------
def test_a_second_run_into_a_busy_folder_is_refused(tmp_path):
    out = tmp_path / "run"
    first = subprocess.Popen(
        [sys.executable, "-m", "conformance", "run", "--suite", "default", *FAKE, "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=environment("fake-exact"),
    )
    try:
        _wait_for_records(first, out / "results.jsonl", 5)
        second = _cli("run", "--suite", "smoke", *FAKE, "--out", str(out), "--replace")
        _one_line_error(second)
        assert f"in use by another run (pid {first.pid})" in second.stderr
    finally:
        first.wait(timeout=300)
    assert first.returncode == 0
    assert {r["suite"] for r in _records(out)} == {"default"}  # nothing of the second run
    assert not (out / ".lock").exists()  # a finished run leaves no lock file behind


def test_a_folder_with_records_needs_replace_and_replace_clears_the_old_report(tmp_path, smoke_run):
    out = _copy(smoke_run, tmp_path / "run")
    write_report(out)
    refused = _cli("run", "--suite", "seeds", "--backends", "numpy", "--out", str(out))
    _one_line_error(refused)
    assert "holds another run's" in refused.stderr and "--replace" in refused.stderr
    assert len(_records(out)) == len(_records(smoke_run))  # untouched
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "conformance",
            "run",
            "--suite",
            "default",
            *FAKE,
            "--out",
            str(out),
            "--replace",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=environment("fake-exact"),
    )
    _wait_for_records(proc, out / "results.jsonl", 5, suite="default")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "report.html").exists()  # the old run's report is gone with its records
    assert {r["suite"] for r in _records(out)} == {"default"}


# ---- 3. what resume verifies --------------------------------------------------------------
def _resume(folder, *extra):
    return _cli("run", "--resume", str(folder), *extra)


def test_resume_refuses_records_of_another_run(tmp_path, smoke_run):
    foreign = _copy(smoke_run, tmp_path / "foreign")
    record = _records(smoke_run)[0] | {"case_id": "not-a-smoke-case", "suite": "seeds"}
    with (foreign / "results.jsonl").open("a") as fh:
        fh.write(json.dumps(record) + "\n")
    out = _resume(foreign)
    _one_line_error(out)
    assert "not a task of this run" in out.stderr


def test_resume_refuses_duplicated_records(tmp_path, smoke_run):
    twice = _copy(smoke_run, tmp_path / "twice")
    first_line = (twice / "results.jsonl").read_text().splitlines()[0]
    with (twice / "results.jsonl").open("a") as fh:
        fh.write(first_line + "\n")
    out = _resume(twice)
    _one_line_error(out)
    assert "appears twice" in out.stderr


def test_resume_refuses_another_environment(tmp_path, smoke_run):
    moved = _copy(smoke_run, tmp_path / "moved")
    env = json.loads((moved / "environment.json").read_text())
    env["backends"]["fake-exact"]["version"] = "0.0-elsewhere"
    (moved / "environment.json").write_text(json.dumps(env))
    out = _resume(moved)
    _one_line_error(out)
    assert "0.0-elsewhere" in out.stderr


def test_resume_refuses_options_it_would_ignore(tmp_path, smoke_run):
    folder = _copy(smoke_run, tmp_path / "f")
    for extra in (("--suite", "seeds"), ("--backends", "numpy"), ("--out", str(tmp_path / "x"))):
        out = _resume(folder, *extra)
        _one_line_error(out)
        assert f"--resume takes {extra[0]}" in out.stderr


def test_retry_crashed_recomputes_crash_records_and_keeps_the_start(tmp_path, smoke_run):
    folder = _copy(smoke_run, tmp_path / "crashed")
    records = _records(folder)
    records[3] |= {"status": "crash", "message": "worker process killed by SIGSEGV"}
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    env = json.loads((folder / "environment.json").read_text())
    env |= {"partial": True, "started": "2001-01-01T00:00:00+00:00", "seconds": 1000.0}
    (folder / "environment.json").write_text(json.dumps(env))
    kept = _resume(folder)
    assert kept.returncode == 1  # a crash is failing, and is not retried unless asked
    assert sum(r["status"] == "crash" for r in _records(folder)) == 1
    retried = _resume(folder, "--retry-crashed")
    assert retried.returncode == 0, retried.stderr[-2000:]
    assert "1 crash/timeout records to retry" in retried.stderr
    assert all(r["status"] != "crash" for r in _records(folder))
    after = json.loads((folder / "environment.json").read_text())
    assert after["started"] == "2001-01-01T00:00:00+00:00" and after["seconds"] >= 1000.0
    assert len(after["resumed"]) == 2


def test_resume_with_a_damaged_folder_is_one_line(tmp_path, smoke_run):
    junk = _copy(smoke_run, tmp_path / "junk")
    with (junk / "results.jsonl").open("ab") as fh:
        fh.write(b"\x00\xff\xfe binary junk\n")
        fh.write(b'{"case_id": "x"}\n')  # junk is not the torn last line: it is damage
    _one_line_error(_resume(junk))
    broken = _copy(smoke_run, tmp_path / "broken")
    (broken / "environment.json").write_text("{ not json")
    out = _resume(broken)
    _one_line_error(out)
    assert "environment.json" in out.stderr


# ---- 4. hostile case files ----------------------------------------------------------------
def test_a_yaml_alias_bomb_is_refused_quickly(tmp_path):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]")
    lines.append("case: *i")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    start = time.monotonic()
    out = _cli("run", "--suite", str(bomb), *FAKE, "--out", str(tmp_path / "r"))
    _one_line_error(out)
    assert "alias" in out.stderr or "expands to more than" in out.stderr
    assert len(out.stderr) < 2000 and time.monotonic() - start < 30


def test_long_values_are_not_echoed_whole(tmp_path):
    long = tmp_path / "long.json"
    long.write_text(json.dumps({"case": [{"name": "n" * 500_000 + "!", "input_shape": [1, 1, 4, 4]}]}))
    out = _cli("run", "--suite", str(long), *FAKE, "--out", str(tmp_path / "r"))
    _one_line_error(out)
    assert len(out.stderr) < 2000 and "name" in out.stderr


def test_nesting_and_wrong_types_name_the_format_and_the_field(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text('{"case": [{"input_shape": [1, 1, 4, 4], "kernel": ' + "[" * 5000 + "]" * 5000 + "}]}")
    out = _cli("run", "--suite", str(deep), *FAKE, "--out", str(tmp_path / "r"))
    _one_line_error(out)
    assert "JSON" in out.stderr and ("nest" in out.stderr)
    family = tmp_path / "family.toml"
    family.write_text("[[case]]\ninput_shape = [1, 1, 4, 4]\nfamily = {}\n")
    out = _cli("run", "--suite", str(family), *FAKE, "--out", str(tmp_path / "r2"))
    _one_line_error(out)
    assert "family" in out.stderr


def test_a_case_file_cannot_reuse_a_generated_id_for_another_case(tmp_path):
    from cases import get_suite

    taken = get_suite("smoke")[0].id
    clash = tmp_path / "clash.toml"
    clash.write_text(f'[[case]]\nname = "{taken}"\nop = "max"\nkernel = 2\ninput_shape = [1, 1, 4, 4]\n')
    out = _cli("run", "--suite", f"smoke,{clash}", *FAKE, "--out", str(tmp_path / "r"))
    _one_line_error(out)
    assert taken in out.stderr and "rename it" in out.stderr


def test_a_suite_named_twice_runs_once(tmp_path, smoke_run):
    out = _cli("run", "--suite", "smoke,smoke", *FAKE, "--out", str(tmp_path / "twice"))
    assert out.returncode == 0, out.stderr[-2000:]
    assert len(_records(tmp_path / "twice")) == len(_records(smoke_run))


# ---- 5. diff and report -------------------------------------------------------------------
def _folder(path: Path, records: list[dict], partial: bool = False) -> Path:
    path.mkdir()
    (path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (path / "environment.json").write_text(json.dumps({"suite": "t", "partial": partial}))
    return path


def _rec(status: str, **kw) -> dict:
    fields = dict(
        case_id="c1",
        suite="t",
        spec={"op": "max"},
        input_shape=[1, 1, 4, 4],
        dtype="float32",
        family="distinct",
        backend="torch",
        backend_version="1",
        device="cpu",
        check="forward",
        status=status,
    )
    return Result(**(fields | kw)).to_json()


def test_diff_fails_on_a_known_divergence_turning_into_a_mismatch_and_on_a_partial_run(tmp_path):
    old = _folder(tmp_path / "old", [_rec("known_divergence")])
    new = _folder(tmp_path / "new", [_rec("mismatch")])
    out = _cli("diff", str(old), str(new))
    assert out.returncode == 1 and "known_divergence -> mismatch" in out.stdout
    same = _folder(tmp_path / "same", [_rec("known_divergence")], partial=True)
    out = _cli("diff", str(old), str(same))
    assert out.returncode == 1 and "PARTIAL" in out.stdout


def test_report_never_overwrites_a_source_and_flags_a_partial_merge(tmp_path):
    a = _folder(tmp_path / "a", [_rec("pass")])
    b = _folder(tmp_path / "b", [_rec("pass", backend="jax")], partial=True)
    before = (a / "results.jsonl").read_bytes()
    out = _cli("report", str(a), str(b), "-o", str(a))
    _one_line_error(out)
    assert (a / "results.jsonl").read_bytes() == before
    out = _cli("report", str(a), str(b), "-o", str(tmp_path / "merged"))
    assert out.returncode == 0, out.stderr[-2000:]
    assert "PARTIAL RUN" in (tmp_path / "merged" / "report.html").read_text()


def test_report_drops_a_torn_last_line(tmp_path):
    torn = _folder(tmp_path / "torn", [_rec("pass"), _rec("pass", backend="jax")])
    with (torn / "results.jsonl").open("a") as fh:
        fh.write('{"case_id": "c2", "back')  # what kill -9 leaves mid-write
    out = _cli("report", str(torn), "-o", str(tmp_path / "out"))
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr[-2000:]
    assert len(_records(tmp_path / "out")) == 2


# ---- 6. one line and exit 2, never a traceback ----------------------------------------------
@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf", "soon"])
def test_bad_timeouts_are_usage_errors(value, tmp_path):
    out = _cli("run", "--suite", "seeds", *FAKE, "--timeout", value, "--out", str(tmp_path / "r"))
    assert out.returncode == 2 and "Traceback" not in out.stderr and "--timeout" in out.stderr


@pytest.mark.parametrize("value", ["0", "-1"])
def test_bad_jobs_are_usage_errors(value, tmp_path):
    out = _cli("run", "--suite", "seeds", *FAKE, "--jobs", value, "--out", str(tmp_path / "r"))
    assert out.returncode == 2 and "Traceback" not in out.stderr and "--jobs" in out.stderr


def test_jobs_beyond_the_memory_are_capped(tmp_path):
    out = _cli(
        "run", "--suite", "seeds", "--backends", "numpy", "--jobs", "100000", "--out", str(tmp_path / "r")
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "--jobs 100000 would need" in out.stderr


def test_an_unusable_out_folder_is_one_line(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("")
    for bad in (a_file / "run", Path("/proc/no-such-run-folder")):
        out = _cli("run", "--suite", "seeds", *FAKE, "--out", str(bad))
        _one_line_error(out)
        assert "--out" in out.stderr


def test_a_full_disk_is_one_line(tmp_path):
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    out_dir = tmp_path / "full"
    out_dir.mkdir()
    (out_dir / "environment.json.tmp").symlink_to("/dev/full")  # its writes fail: ENOSPC
    out = _cli("run", "--suite", "seeds", "--backends", "numpy", "--no-isolate", "--out", str(out_dir))
    _one_line_error(out)
    assert "No space left on device" in out.stderr


def _worker_folders(pid: int) -> list[Path]:
    return list(Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}{pid}-*"))


def test_worker_folders_do_not_outlive_kills_and_error_exits(tmp_path):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "conformance",
            "run",
            "--suite",
            "default",
            *FAKE,
            "--out",
            str(tmp_path / "k"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=environment("fake-exact"),
    )
    _wait_for_records(proc, tmp_path / "k" / "results.jsonl", 5)
    assert _worker_folders(proc.pid)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _worker_folders(proc.pid)  # kill -9: nothing could clean up ...
    again = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "conformance",
            "run",
            "--suite",
            "seeds",
            "--backends",
            "nosuch",
            "--out",
            str(tmp_path / "e"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=environment("fake-exact"),
    )
    assert again.wait(timeout=300) == 2  # an error exit after its workers started ...
    assert not _worker_folders(again.pid)  # ... cleaned up its own folder
    assert not _worker_folders(proc.pid)  # and removed the killed run's


# ---- 7. other outputs ---------------------------------------------------------------------
def test_junit_and_summary_survive_control_characters_surrogates_and_markdown(tmp_path):
    nasty = "bell\x07 nul\x00 lone\ud800 | <script>alert(1)</script> `tick`\nnew line"
    with ResultWriter(tmp_path / "results.jsonl") as w:
        w.write(
            Result(
                case_id=nasty,
                suite="t",
                spec={"op": "max"},
                input_shape=[1],
                dtype="float32",
                family="distinct",
                backend=nasty,
                backend_version="1",
                device="cpu",
                check="forward",
                status="mismatch",
                message=nasty,
            )
        )
    (tmp_path / "environment.json").write_text(json.dumps({"run_id": nasty, "suite": nasty}))
    write_report(tmp_path)
    xml.dom.minidom.parse(str(tmp_path / "junit.xml"))  # strict XML parser
    summary = (tmp_path / "summary.md").read_text()
    assert "<script>" not in summary
    table = [line for line in summary.splitlines() if line.startswith("|")][:3]
    cells = [len(re.split(r"(?<!\\)\|", row)) for row in table]  # unescaped pipes only
    assert len(table) == 3 and cells[0] == cells[1] == cells[2], table
    (tmp_path / "report.html").read_text(encoding="utf-8")


def test_the_report_allows_only_its_own_script(tmp_path):
    import base64
    import hashlib

    with ResultWriter(tmp_path / "results.jsonl") as w:
        w.write(
            Result(
                case_id="c",
                suite="t",
                spec={"op": "max"},
                input_shape=[1],
                dtype="float32",
                family="distinct",
                backend="torch",
                backend_version="1",
                device="cpu",
                check="forward",
                status="pass",
            )
        )
    write_report(tmp_path)
    html = (tmp_path / "report.html").read_text()
    csp = re.search(r'Content-Security-Policy" content="([^"]+)"', html).group(1)
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp


def test_results_pointing_at_a_directory_is_a_usage_error(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/test_parity.py",
            "-q",
            "-p",
            "no:cacheprovider",
            "-n",
            "0",
            "--collect-only",
            "--conformance-results",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 4, out.stdout[-2000:] + out.stderr[-2000:]
    assert "INTERNALERROR" not in out.stdout + out.stderr and "directory" in out.stderr
