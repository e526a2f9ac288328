"""Command line: `conformance run | list | show | report | diff` (DESIGN.md §5).

Exit status: 0 when every result passed, was unsupported, or matched a recorded known
divergence; 1 on any unexpected mismatch, error, crash or fixed divergence; 2 on bad usage.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from conformance import packages, registry, runner
from conformance.errors import BackendUnavailable, UsageError
from conformance.results import FAILING, ResultWriter, environment


def _backends(arg: str | None) -> list[str]:
    if not arg:
        return registry.available()
    names = [n.strip() for n in arg.split(",") if n.strip()]
    for n in names:
        why = registry.reason(n)
        if why:
            raise UsageError(f"--backends: {why}")
    return names


def _suites(arg: str, seed: int = 0):
    from cases import load_suites

    return load_suites(arg, seed)


class _Progress:
    """A rich progress bar with ETA on a terminal; a plain line every 10 % otherwise."""

    def __init__(self, total: int):
        self.total, self.done, self.start, self.shown = total, 0, time.perf_counter(), -1
        self.bar = None
        if sys.stderr.isatty():
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                                transient=False)
            self.task = self.bar.add_task("running", total=total)
            self.bar.start()

    def tick(self, result) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(self.task, advance=1, description=f"{result.backend:<10} {result.check:<14}")
            return
        pct = int(100 * self.done / max(self.total, 1))
        if pct // 10 != self.shown:
            self.shown = pct // 10
            elapsed = time.perf_counter() - self.start
            eta = elapsed / self.done * (self.total - self.done)
            print(f"{self.done}/{self.total} ({pct} %) elapsed {elapsed:.0f}s eta {eta:.0f}s",
                  file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def cases_hash(cases) -> str:
    """One hash over every case id and input byte: equal on any machine for the same seed."""
    digest = hashlib.sha256()
    for case in cases:
        digest.update(case.id.encode())
        digest.update(case.make_input().tobytes())
    return digest.hexdigest()[:16]


def _read_done(path: Path) -> list[dict]:
    """Records of an interrupted run; a torn last line (killed mid-write) is dropped."""
    if not path.exists():
        return []
    good, lines = [], path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        try:
            good.append(json.loads(line))
        except json.JSONDecodeError:
            if i != len(lines) - 1:
                raise UsageError(f"{path}:{i + 1}: not a JSON record; cannot resume") from None
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in good), encoding="utf-8")
    tmp.replace(path)
    return good


def cmd_run(args) -> int:
    if args.resume:
        out = Path(args.resume)
        env_path = out / "environment.json"
        if not env_path.exists():
            raise UsageError(f"--resume {out}: no environment.json there (not a run folder)")
        previous = json.loads(env_path.read_text())
        args.suite = previous["suite"]
        args.backends = ",".join(previous.get("backend_order") or previous["backends"])
        args.device = previous.get("device", args.device)
        args.seed = previous.get("seed", 0)
    cases = _suites(args.suite, args.seed)
    pool = None
    if args.no_isolate:
        backends = _backends(args.backends)
        info = {n: {"version": registry.get(n).version, "devices": registry.get(n).devices()}
                for n in backends}
    else:  # the frameworks load in the workers only
        from conformance.isolation import WorkerPool

        pool = WorkerPool(args.jobs, args.timeout)
        asked = [n.strip() for n in args.backends.split(",") if n.strip()] if args.backends else None
        probed = pool.probe(asked)
        missing = [v["reason"] for v in probed.values() if "reason" in v]
        if asked and missing:
            pool.close()
            raise UsageError(f"--backends: {'; '.join(missing)}")
        backends = [n for n, v in probed.items() if "reason" not in v]
        info = {n: probed[n] for n in backends}
    devices = ["cpu", "gpu"] if args.device == "all" else [args.device]
    run_id = datetime.now(UTC).strftime("%Y%m%d-%H%M%S") + f"-{args.suite.replace(',', '+')}"
    out = Path(args.resume or args.out or Path("reports") / run_id)
    out.mkdir(parents=True, exist_ok=True)
    tasks = list(runner.tasks(cases, backends, devices))
    env = environment(
        info,
        suite=args.suite, seed=args.seed, run_id=out.name, cases=len(cases), tasks=len(tasks),
        started=datetime.now(UTC).isoformat(timespec="seconds"), cases_hash=cases_hash(cases),
        partial=True, device=args.device, isolated=not args.no_isolate, backend_order=backends,
    )
    if any(s.strip() in ("smoke", "default") for s in args.suite.split(",")):
        from cases import coverage

        generated = [c for c in cases if getattr(c, "axes", None)]
        env["coverage"] = [str(c) for c in coverage(generated, native="default" in args.suite)]
        for line in env["coverage"]:
            print(f"coverage: {line}", file=sys.stderr)
    results_path = out / "results.jsonl"
    if args.resume:
        done = _read_done(results_path)
        keys = {(r["case_id"], r["backend"], r["check"], r["device"]) for r in done}
        before = len(tasks)
        tasks = [t for t in tasks if (t[0].id, t[1], t[2], t[3]) not in keys]
        print(f"resuming: {before - len(tasks)} of {before} records already there", file=sys.stderr)
        failing = sum(r["status"] in FAILING for r in done)
    else:
        results_path.unlink(missing_ok=True)  # a new run into an old folder starts afresh
        failing = 0
    _write_env(out, env)
    start = time.perf_counter()
    progress = _Progress(len(tasks))
    try:
        with ResultWriter(results_path) as writer:
            results = pool.run(tasks) if pool is not None else _execute(tasks, args.jobs)
            for result in results:
                writer.write(result)
                progress.tick(result)
                failing += result.status in FAILING
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted; the records so far are kept in {out} "
                          f"(finish with: conformance run --resume {out})") from None
    finally:
        progress.close()
        if pool is not None:
            pool.close()
    env["seconds"] = round(time.perf_counter() - start, 2)
    env["partial"] = False
    _write_env(out, env)
    from conformance.report import write_report

    print(write_report(out))
    print(f"results: {results_path}\nreport:  {out / 'report.html'}")
    return 1 if failing else 0


REPRODUCIBLE = ("forward", "grad", "default_stride")  # checks a reproducer script replays


class Interrupted(Exception):
    """Ctrl-C during a run: one line for the user, the folder stays resumable."""


def _ignore_sigint() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C for everyone


def _run_task(task):
    return runner.run_check(*task)


def _execute(tasks, jobs: int):
    """Results in task order without isolation: in this process, or in spawned workers that
    do not survive a crash (`--no-isolate --jobs N`)."""
    if jobs <= 1:
        for task in tasks:
            yield runner.run_check(*task)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_ignore_sigint) as pool:
        yield from pool.map(_run_task, tasks, chunksize=max(1, len(tasks) // (jobs * 8)))


def _write_env(out: Path, env: dict) -> None:
    tmp = out / "environment.json.tmp"
    tmp.write_text(json.dumps(env, indent=2, sort_keys=True))
    tmp.replace(out / "environment.json")


def cmd_list(args) -> int:
    from cases import SUITES, get_suite

    print("backends:")
    for name in registry.names():
        try:
            b = registry.get(name)
            ref = " (reference)" if name == registry.REFERENCE else ""
            print(f"  {name:<12} {b.version:<16} devices: {', '.join(b.devices())}{ref}")
        except BackendUnavailable as exc:
            print(f"  {name:<12} unavailable: {exc}")
    print("suites:")
    for name, (about, _) in SUITES.items():
        print(f"  {name:<10} {len(get_suite(name)):>5} cases  {about}")
    return 0


def _find_case(case_id: str, suites: str | None):
    """The case with this id: in the given suites/case files, else in every named suite
    (the large `full` suite last)."""
    from cases import SUITES, get_suite, load_suites

    if suites:
        candidates = [(suites, load_suites(suites))]
    else:
        order = [s for s in SUITES if s != "full"] + ["full"]
        candidates = ((name, get_suite(name)) for name in order)
    for suite, found in candidates:
        for case in found:
            if case.id == case_id:
                return suite, case
    where = f"in {suites}" if suites else "in any suite"
    raise UsageError(f"no case with id {case_id!r} {where} (see `conformance list`; a case "
                     f"file's cases: --suite FILE)")


def cmd_show(args) -> int:
    suite, case = _find_case(args.case_id, args.suite)
    print(f"case {case.id} (suite {suite})")
    print(json.dumps({"spec": case.spec.to_json(), "input_shape": list(case.input_shape),
                      "dtype": case.dtype, "family": case.family, "checks": list(case.checks)},
                     separators=(", ", ": ")))
    if case.note:
        print(f"note: {case.note}")
    names = _backends(args.backends)
    results = runner.run([case], names)
    for r in results:
        print(f"  {r.backend:<11} {r.check:<15} {r.status:<17} {r.message[:160]}")
        if r.diagnosis:
            print(f"  {'':<11} diagnosis: {r.diagnosis}")
    for r in results:  # one standalone script per target and check that calls the framework
        if r.backend == registry.REFERENCE or r.check not in REPRODUCIBLE \
                or r.status == "unsupported":
            continue
        print(f"\n# --- reproducer: {r.backend}, {r.check} ({r.status}) ---")
        try:
            print(registry.get(r.backend).reproducer(case, r.check))
        except Exception as exc:  # e.g. Unsupported: the framework cannot express it
            print(f"# {r.backend} cannot run this case natively: {exc}")
    return 0


def _load(path: str) -> dict[tuple, dict]:
    from conformance.results import read_results

    p = Path(path)
    p = p / "results.jsonl" if p.is_dir() else p
    if not p.exists():
        raise UsageError(f"{path}: no results.jsonl there")
    return {(r["case_id"], r["backend"], r["check"], r["device"]): r for r in read_results(p)}


def cmd_diff(args) -> int:
    """Status changes between two runs; exit 1 when NEW has divergences OLD did not."""
    old, new = _load(args.old), _load(args.new)
    quiet = ("pass", "unsupported")
    appeared, fixed, changed = [], [], []
    for key in sorted(set(old) | set(new)):
        a = old.get(key, {}).get("status", "missing")
        b = new.get(key, {}).get("status", "missing")
        if a == b:
            continue
        line = f"{key[0]}  {key[1]} {new.get(key, old.get(key, {})).get('backend_version', '')}  " \
               f"{key[2]} [{key[3]}]: {a} -> {b}"
        if b not in quiet and b != "missing" and (a in quiet or a == "missing"):
            appeared.append(line)
        elif a not in quiet and a != "missing" and b == "pass":
            fixed.append(line)
        else:
            changed.append(line)
    for title, lines in (("new divergences", appeared), ("fixed", fixed), ("other changes", changed)):
        print(f"{title}: {len(lines)}")
        for line in lines:
            print(f"  {line}")
    return 1 if appeared else 0


def cmd_report(args) -> int:
    """Merge the results of several runs (one per environment) into one report folder."""
    from conformance.report import write_report

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    merged_env: dict = {"run_id": out.name, "suite": set(), "backends": {}, "merged_from": []}
    lines = []
    for src in args.runs:
        folder = Path(src)
        path = folder / "results.jsonl" if folder.is_dir() else folder
        if not path.exists():
            raise UsageError(f"{src}: no results.jsonl there")
        lines.extend(line for line in path.read_text().splitlines() if line.strip())
        env_path = path.parent / "environment.json"
        if env_path.exists():
            env = json.loads(env_path.read_text())
            merged_env["suite"].add(env.get("suite", ""))
            merged_env["backends"].update(env.get("backends", {}))
            merged_env["merged_from"].append(str(path.parent))
            for key in ("python", "platform", "host", "seed"):
                merged_env.setdefault(key, env.get(key))
    merged_env["suite"] = ",".join(sorted(s for s in merged_env["suite"] if s))
    unique: dict[tuple, str] = {}  # the reference runs in every environment: keep one record
    for line in lines:
        r = json.loads(line)
        unique[(r["case_id"], r["backend"], r.get("backend_version"), r["check"], r["device"])] = line
    lines = list(unique.values())
    tmp = out / "results.jsonl.tmp"
    tmp.write_text("\n".join(lines) + ("\n" if lines else ""))
    tmp.replace(out / "results.jsonl")
    (out / "environment.json").write_text(json.dumps(merged_env, indent=2, sort_keys=True))
    print(write_report(out))
    print(f"report:  {out / 'report.html'}")
    return 0


def cmd_bench(args) -> int:
    from conformance import bench

    what = [w.strip() for w in args.what.split(",") if w.strip()]
    known = {"reference", "scaling", "textbook", "layers", "suite"}
    if set(what) - known:
        raise UsageError(f"--what: {sorted(set(what) - known)} unknown; choose from {sorted(known)}")
    backends = _backends(args.backends)
    out = Path(args.out) if args.out else None
    result = bench.run(what, args.reps, backends, out)
    print(bench.format_result(result))
    if "suite" in what:
        rows = bench.bench_suite(backends)
        print(bench.format_suite(rows))
        if out is not None:
            data = json.loads((out / "perf.json").read_text())
            data["suite"] = rows
            (out / "perf.json").write_text(json.dumps(data, indent=2))
    if out is not None and (out / "results.jsonl").exists():  # a run folder: add the table
        from conformance.report import write_report

        write_report(out)
        print(f"report with the performance table: {out / 'report.html'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="conformance", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a suite on the backends and write reports/<run>/")
    run.add_argument("--suite", default="default", help="suite name(s), comma-separated")
    run.add_argument("--backends", default=None, help="comma-separated (default: all available)")
    run.add_argument("--device", default="cpu", choices=("cpu", "gpu", "all"))
    run.add_argument("--seed", type=int, default=0,
                     help="sampling and input seed of the generated suites (default 0, the "
                          "published one: same ids and input bytes everywhere)")
    run.add_argument("--out", default=None, help="run folder (default: reports/<run-id>)")
    run.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    run.add_argument("--timeout", type=float, default=300.0,
                     help="seconds per case x check before its worker is killed (status timeout)")
    run.add_argument("--no-isolate", action="store_true",
                     help="run backends in this process (faster start; a crash ends the run)")
    run.add_argument("--resume", default=None, metavar="RUN_DIR",
                     help="finish an interrupted run in RUN_DIR without redoing its records")
    run.set_defaults(fn=cmd_run)
    lst = sub.add_parser("list", help="backends (available or why not) and suites")
    lst.set_defaults(fn=cmd_list)
    show = sub.add_parser("show", help="a case's spec and each backend's outcome")
    show.add_argument("case_id")
    show.add_argument("--backends", default=None)
    show.add_argument("--suite", default=None,
                      help="suites or case files to look in (default: every named suite)")
    show.set_defaults(fn=cmd_show)
    bench_p = sub.add_parser("bench", help="benchmarks: ratios against peers timed in the same run")
    bench_p.add_argument("--what", default="reference,scaling,textbook,layers",
                         help="comma-separated: reference, scaling, textbook, layers, suite")
    bench_p.add_argument("--reps", type=int, default=5, help="repetitions per timing (median)")
    bench_p.add_argument("--backends", default=None)
    bench_p.add_argument("--out", default=None, help="folder for perf.json (the report shows it)")
    bench_p.set_defaults(fn=cmd_bench)
    diff = sub.add_parser("diff", help="status changes between two runs (exit 1 on new divergences)")
    diff.add_argument("old")
    diff.add_argument("new")
    diff.set_defaults(fn=cmd_diff)
    rep = sub.add_parser("report", help="merge results of several runs into one report")
    rep.add_argument("runs", nargs="+", help="run folders or results.jsonl files")
    rep.add_argument("-o", "--output", required=True, help="folder for the merged report")
    rep.set_defaults(fn=cmd_report)
    args = parser.parse_args(argv)
    try:
        packages.ensure()  # ours, even where the current folder has a backends/ or cases/
        return args.fn(args)
    except UsageError as exc:
        print(f"conformance: error: {exc}", file=sys.stderr)
        return 2
    except Interrupted as exc:
        print(f"conformance: {exc}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("conformance: interrupted", file=sys.stderr)
        return 130


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pooling-conformance")
    except PackageNotFoundError:  # a checkout on sys.path without an install
        from conformance import __version__

        return __version__


if __name__ == "__main__":
    sys.exit(main())
