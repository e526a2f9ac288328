"""Command line: `conformance run | list | show | report | diff` (DESIGN.md §5).

Exit status: 0 when every result passed, was unsupported, or matched a recorded known
divergence; 1 on any unexpected mismatch, error, crash or fixed divergence; 2 on bad usage.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from conformance import (
    __version__,
    bench,
    checkdefs,
    execution,
    options,
    packages,
    probes,
    registry,
    runfolder,
    runner,
    shard,
    share,
)
from conformance.devices import Device
from conformance.devices import expand as expand_devices
from conformance.errors import UsageError
from conformance.export import export
from conformance.results import FAILING, ResultWriter, environment, source_row, versions_label
from conformance.shard import Shard
from conformance.share import describe


def _suites(arg: str, seed: int = 0):

    return packages.load("cases").load_suites(arg, seed)


class _Progress:
    """A rich progress bar with ETA on a terminal; a plain line every 10 % otherwise."""

    def __init__(self, total: int):
        self.total, self.done, self.start, self.shown = total, 0, time.perf_counter(), -1
        self.bar = None
        if sys.stderr.isatty():
            from rich.progress import (  # noqa: PLC0415 (lazy: rich's progress bar only on a terminal)
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                transient=False,
            )
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
            print(
                f"{self.done}/{self.total} ({pct} %) elapsed {elapsed:.0f}s eta {eta:.0f}s",
                file=sys.stderr,
                flush=True,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _resume_settings(args) -> dict:
    """--resume takes suite, targets, device and seed from the folder; giving them again is a
    usage error rather than silently ignored."""
    given = [
        f"--{name}"
        for name in ("suite", "backends", "out", "seed", "device", "shard")
        if getattr(args, name, None) is not None
    ] + (["--complete"] if args.complete else [])
    if given:
        raise UsageError(
            f"--resume takes {', '.join(given)} from the run folder; drop "
            f"{'them' if len(given) > 1 else 'it'} (or start a new run)"
        )
    previous = runfolder.read_environment(args.resume)
    try:
        args.suite = previous["suite"]
        args.backends = ",".join(previous.get("backend_order") or previous["backends"])
        args.device = previous.get("device", Device.CPU)
        args.seed = int(previous.get("seed", 0))
        args.shard = previous.get("shard")
        args.complete = bool(previous.get("complete", True))
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{args.resume}: environment.json lacks {exc} (not resumable)") from None
    return previous


def _bounded(convert, ok, allowed: str):
    """An argparse type: `convert` the text, then check it (one line of error otherwise)."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not allowed: {allowed}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"{text} is not allowed: {allowed}")
        return value

    return parse


_positive_seconds = _bounded(float, lambda v: math.isfinite(v) and v > 0, "a finite number of seconds > 0")
_jobs = _bounded(int, lambda v: v >= 1, "an integer, 1 or more worker processes")


def cmd_run(args) -> int:
    if args.retry_crashed and not args.resume:
        raise UsageError("--retry-crashed goes with --resume RUN_DIR")
    if args.versioned_out and args.resume:
        raise UsageError("--versioned-out names a new run folder; --resume continues one")
    previous = _resume_settings(args) if args.resume else None
    if args.shard:  # a usage error before any suite is built
        args.shard = str(Shard.parse(args.shard))
    args.suite = args.suite or "default"
    args.device = args.device or Device.CPU
    args.seed = args.seed or 0
    # a shard's partition is cut over the targets asked (on --resume: asked then)
    args.asked_backends = (
        previous.get("asked_backends") if previous else execution.asked_targets(args.backends)
    )
    jobs = execution.cap_jobs(args.jobs or (1 if args.no_isolate else execution.usable_cores()))
    if args.no_isolate:
        print(
            "conformance: --no-isolate runs every call in this process without a time limit "
            "(--timeout applies to isolated runs only); a hung call hangs the run",
            file=sys.stderr,
        )
    cases = _suites(args.suite, args.seed)
    if args.shard:
        cases = _shard_of(cases, args)
    run_id = datetime.now(UTC).strftime("%Y%m%d-%H%M%S") + f"-{args.suite.replace(',', '+')}"
    if args.shard:
        run_id += f"-shard{args.shard.replace('/', 'of')}"
    out = Path(args.resume or args.out or Path("reports") / run_id)
    if args.versioned_out:  # e.g. reports/tox-jax-jax-0.4.30
        out = out.with_name(f"{out.name}-{versions_label(args.asked_backends or registry.names())}")
    runfolder.prepare(out)
    with runfolder.owned(out):
        if not args.resume:
            held = runfolder.holds_records(out)
            if held and not args.replace:
                raise UsageError(
                    f"--out {out} holds another run's {held} records; finish it with "
                    f"--resume {out}, or pass --replace to start afresh there"
                )
            runfolder.clear(out)  # and the old report files with them
        return _run_in(out, args, cases, jobs, previous)


def _shard_of(cases: list, args) -> list:
    """--shard K/N: this shard's cases (conformance.shard), partitioned over the *asked* targets
    (every registered one when --backends is left out), so every machine cuts the same way."""
    args.whole_suite = {"cases": len(cases), "cases_hash": runfolder.cases_hash(cases)}
    return shard.select(cases, args.asked_backends or registry.names(), shard.Shard.parse(args.shard))


def _run_in(out: Path, args, cases, jobs: int, previous: dict | None) -> int:
    with execution.start(args.backends, isolate=not args.no_isolate, jobs=jobs, timeout=args.timeout) as ex:
        return _execute_run(out, args, cases, ex, previous)


def _execute_run(out: Path, args, cases, ex: execution.Execution, previous) -> int:
    backends, info = ex.backends, ex.info
    devices = expand_devices(args.device)
    tasks = list(runner.tasks(cases, backends, devices))
    left_out: dict = {}
    args.complete = args.complete or bool(args.shard)  # shards cut a complete run between them
    if not args.complete:  # conformance.share: the compiling targets' first-run share
        tasks, left_out = share.first_run(tasks, packages.load("cases.native").in_space)
    if not tasks:
        raise UsageError(
            f"nothing to compare: no task for suite {args.suite!r} on {', '.join(backends)}"
            + (
                " (the reference alone runs only the cases with hand-worked values: --suite "
                "seeds; name a target with --backends)"
                if backends == [registry.REFERENCE]
                else ""
            )
        )
    if ex.unavailable:  # every available target was asked for: say which did not load
        print(
            f"conformance: not run here, unavailable ({len(ex.unavailable)}; `conformance list` "
            f"says why): {', '.join(ex.unavailable)}",
            file=sys.stderr,
        )
    now = datetime.now(UTC).isoformat(timespec="seconds")
    env = environment(
        info,
        unavailable=ex.unavailable,
        suite=args.suite,
        seed=args.seed,
        run_id=out.name,
        cases=len(cases),
        tasks=len(tasks),
        started=now,
        cases_hash=runfolder.cases_hash(cases),
        partial=True,
        device=args.device,
        isolated=not args.no_isolate,
        backend_order=backends,
        complete=args.complete,
        left_out=left_out,
    )
    if args.shard:  # what `conformance report` needs to tell a complete set of shards
        env.update(shard=args.shard, whole_suite=args.whole_suite, asked_backends=args.asked_backends)
    if any(s.strip() in ("smoke", "default") for s in args.suite.split(",")):
        generated = [c for c in cases if getattr(c, "axes", None)]
        env["coverage"] = [
            str(c) for c in packages.load("cases").coverage(generated, native="default" in args.suite)
        ]
        for line in env["coverage"]:
            print(f"coverage: {line}", file=sys.stderr)
    results_path = out / runfolder.RESULTS
    earlier = 0.0
    if previous is not None:
        done = runfolder.read_records(results_path, repair=True)
        kept = runfolder.check_resumable(out, previous, env, tasks, done, args.retry_crashed)
        if len(kept) != len(done):  # --retry-crashed: those records are computed again
            runfolder.atomic_write(results_path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in kept))
        keys = {runfolder.key(r) for r in kept}
        before = len(tasks)
        tasks = [t for t in tasks if t.key not in keys]
        print(
            f"resuming: {before - len(tasks)} of {before} records already there"
            + (
                f" ({len(done) - len(kept)} crash/timeout records to retry)" if len(kept) != len(done) else ""
            ),
            file=sys.stderr,
        )
        failing = sum(r["status"] in FAILING for r in kept)
        env["started"] = previous.get("started", now)  # the run's start, not this segment's
        env["resumed"] = [*previous.get("resumed", []), now]
        earlier = float(previous.get("seconds") or 0.0)
    else:
        failing = 0
    runfolder.write_environment(out, env)

    for line in describe(left_out):
        print(line, file=sys.stderr)
    start = time.perf_counter()
    progress = _Progress(len(tasks))
    try:
        with ResultWriter(results_path) as writer:
            for result in ex.run(tasks):
                writer.write(result)
                progress.tick(result)
                failing += result.status in FAILING
    except KeyboardInterrupt:
        env["seconds"] = round(earlier + time.perf_counter() - start, 2)
        runfolder.write_environment(out, env)
        raise Interrupted(
            f"interrupted; the records so far are kept in {out} (finish with: conformance run --resume {out})"
        ) from None
    finally:
        progress.close()
    env["seconds"] = round(earlier + time.perf_counter() - start, 2)  # every segment together
    env["partial"] = False
    runfolder.write_environment(out, env)
    from conformance.report import write_report  # noqa: PLC0415 (lazy: pandas and Jinja2 only when a report is written)

    print(write_report(out))
    print(f"results: {results_path}\nreport:  {out / 'report.html'}")
    if failing:
        return 1
    if not runfolder.compared_any(results_path):
        print(
            "conformance: nothing was compared: every result is unsupported by the targets "
            "asked (exit status 2)",
            file=sys.stderr,
        )
        return 2
    return 0


class Interrupted(Exception):
    """Ctrl-C during a run: one line for the user, the folder stays resumable."""


def cmd_list(args) -> int:
    """Targets (conformance.probes: probed in worker processes, in parallel, then remembered
    until anything installed changes) and suites (counted from the suite cache; built, the
    first time, while the workers import)."""
    with ThreadPoolExecutor(1) as counting:
        suites = packages.load("cases")
        counts = counting.submit(lambda: {name: len(suites.get_suite(name)) for name in suites.SUITES})
        probed, when = probes.targets(fresh=args.fresh)
        counts = counts.result()
    stamp = (
        ""
        if when is None
        else datetime.fromtimestamp(when, UTC).strftime(
            " (as probed %Y-%m-%d %H:%M UTC; nothing installed has changed since; --fresh probes again)"
        )
    )
    print(f"backends{stamp}:")
    width = max(16, *(len(name) for name in [*probed, *registry.NOT_YET]))
    for name, info in probed.items():
        if "reason" in info:
            print(f"  {name:<{width}} unavailable: {info['reason']}")
            continue
        ref = " (reference)" if name == registry.REFERENCE else ""
        print(f"  {name:<{width}} {info['version']:<16} devices: {', '.join(info['devices'])}{ref}")
    print("not targets here yet (DESIGN.md §6):")
    for name, why in registry.NOT_YET.items():
        print(f"  {name:<{width}} {why}")
    print("suites:")
    for name, (about, _) in suites.SUITES.items():
        print(f"  {name:<11} {counts[name]:>6} cases  {about}")
    return 0


def _find_case(case_id: str, suites: str | None):
    """The case with this id: in the given suites/case files, else in every named suite
    (the large `full` suite last)."""
    known = packages.load("cases")
    if suites:
        candidates = [(suites, known.load_suites(suites))]
    else:
        order = [s for s in known.SUITES if s != "full"] + ["full"]
        candidates = ((name, known.get_suite(name)) for name in order)
    for suite, found in candidates:
        for case in found:
            if case.id == case_id:
                return suite, case
    where = f"in {suites}" if suites else "in any suite"
    raise UsageError(
        f"no case with id {case_id!r} {where} (see `conformance list`; a case file's cases: --suite FILE)"
    )


def cmd_show(args) -> int:
    suite, case = _find_case(args.case_id, args.suite)
    print(f"case {case.id} (suite {suite})")
    print(
        json.dumps(
            {
                "spec": case.spec.to_json(),
                "input_shape": list(case.input_shape),
                "dtype": case.dtype,
                "family": case.family,
                "checks": list(case.checks),
            },
            separators=(", ", ": "),
        )
    )
    if case.note:
        print(f"note: {case.note}")
    # in worker processes, as a run does: every target loads (each Keras one in a process of
    # its own), the frameworks import in parallel, a crash costs one line
    with execution.start(args.backends, isolate=True, jobs=1, timeout=300.0) as ex:
        results = list(ex.run(list(runner.tasks([case], ex.backends))))
        for r in results:
            print(f"  {r.backend:<16} {r.check:<15} {r.status:<17} {r.message[:160]}")
            if r.diagnosis:
                print(f"  {'':<16} diagnosis: {r.diagnosis}")
        for r in results:  # one standalone script per target and check that calls the framework
            if (
                r.backend == registry.REFERENCE
                or r.status == "unsupported"
                or not checkdefs.of(r.check).reproducible
            ):
                continue
            print(f"\n# --- reproducer: {r.backend}, {r.check} ({r.status}) ---")
            print(ex.reproducer(r.backend, case, r.check))
    return 0


def cmd_diff(args) -> int:
    """Status changes between two runs; exit 1 when NEW has divergences OLD did not."""
    old, new = runfolder.records_by_key(args.old), runfolder.records_by_key(args.new)
    quiet = ("pass", "unsupported")
    appeared, fixed, changed = [], [], []
    for key in sorted(set(old) | set(new)):
        a = old.get(key, {}).get("status", "missing")
        b = new.get(key, {}).get("status", "missing")
        if a == b:
            continue
        line = (
            f"{key[0]}  {key[1]} {new.get(key, old.get(key, {})).get('backend_version', '')}  "
            f"{key[2]} [{key[3]}]: {a} -> {b}"
        )
        # new: a failing status where there was none (a known divergence turning into a
        # mismatch or an error counts), or any divergence where there was a quiet result
        if (b in FAILING and a not in FAILING) or (
            b not in quiet and b != "missing" and (a in quiet or a == "missing")
        ):
            appeared.append(line)
        elif a not in quiet and a != "missing" and b == "pass":
            fixed.append(line)
        else:
            changed.append(line)
    for title, lines in (("new divergences", appeared), ("fixed", fixed), ("other changes", changed)):
        print(f"{title}: {len(lines)}")
        for line in lines:
            print(f"  {line}")
    partial = runfolder.is_partial(args.new)
    if partial:
        print(f"{args.new} is a PARTIAL run: missing records are not comparable")
    return 1 if appeared or partial else 0


def cmd_export(args) -> int:

    cases = _suites(args.suite or "default", args.seed)
    manifest = export(
        cases, Path(args.out), suite=args.suite or "default", seed=args.seed, project_version=_version()
    )
    counts = manifest["counts"]
    print(
        f"exported {counts['cases']} cases to {args.out}: {counts['npz']} .npz, "
        f"{counts['onnx']} ONNX test folders (manifest.json lists why the others have none)"
    )
    return 0


def cmd_report(args) -> int:
    """Merge the results of several runs (one per environment) into one report folder."""
    from conformance.report import write_report  # noqa: PLC0415 (lazy: pandas and Jinja2 only when a report is written)

    out = Path(args.output)
    sources = [runfolder.results_path(src) for src in args.runs]
    for src, path in zip(args.runs, sources, strict=True):
        if not path.exists():
            raise UsageError(f"{src}: no results.jsonl there")
        if path.parent.resolve() == out.resolve():
            raise UsageError(
                f"-o {out} is one of the runs to merge; choose another folder (it would overwrite that run)"
            )
    runfolder.prepare(out)
    merged_env: dict = {
        "run_id": out.name,
        "suite": set(),
        "backends": {},
        "merged_from": [],
        "partial": False,
        "partial_sources": [],
    }
    unique: dict[tuple, dict] = {}  # the reference runs in every environment: keep one record
    shards: dict[tuple, set[int]] = {}  # one run cut into shards -> the shard numbers present
    for path in sources:
        for r in runfolder.read_records(path):
            unique[(*runfolder.key(r), r.get("backend_version"))] = r
        try:
            env = runfolder.read_environment(path.parent)
        except UsageError:
            continue
        merged_env["suite"].add(env.get("suite", ""))
        for name, info in (env.get("backends") or {}).items():
            versions = merged_env["backends"].setdefault(name, {"version": "", "devices": []})
            seen = [v for v in versions["version"].split(", ") if v]
            if info.get("version") and info["version"] not in seen:
                seen.append(info["version"])
            versions["version"] = ", ".join(seen)
            versions["devices"] = sorted(set(versions["devices"]) | set(info.get("devices", [])))
        merged_env["merged_from"].append(str(path.parent))
        # the header lists every environment, the verdict what first runs left out
        merged_env.setdefault("sources", []).append(source_row(env, str(path.parent)))
        merged_env.setdefault("left_out", {}).update(env.get("left_out") or {})
        if env.get("partial"):
            merged_env["partial"] = True
            merged_env["partial_sources"].append(str(path.parent))
        if env.get("shard"):
            shards.setdefault(_shard_set(env), set()).add(int(env["shard"].split("/")[0]))
        for key in ("python", "platform", "host", "seed"):
            merged_env.setdefault(key, env.get(key))
    for (suite, _, count), present in sorted(shards.items()):
        missing = sorted(set(range(1, count + 1)) - present)
        merged_env["shards"] = [*merged_env.get("shards", []), f"{suite}: {len(present)} of {count}"]
        if missing:  # a shard's cases are simply absent: the merged run is incomplete
            merged_env["partial"] = True
            merged_env["partial_sources"] += [f"shard {k}/{count} of {suite} (missing)" for k in missing]
            print(
                f"conformance: {suite}: shards {', '.join(f'{k}/{count}' for k in missing)} "
                f"missing; the merged report is partial",
                file=sys.stderr,
            )
    merged_env["suite"] = ",".join(sorted(s for s in merged_env["suite"] if s))
    with runfolder.owned(out):
        runfolder.atomic_write(
            out / runfolder.RESULTS, "".join(json.dumps(r, sort_keys=True) + "\n" for r in unique.values())
        )
        runfolder.write_environment(out, merged_env)
        print(write_report(out))
    print(f"report:  {out / 'report.html'}")
    return 0


def _shard_set(env: dict) -> tuple[str, str, int]:
    """What makes shards parts of one run: suite, whole-suite case hash (seed included) and N."""
    whole = env.get("whole_suite") or {}
    return env.get("suite", ""), whole.get("cases_hash", ""), int(env["shard"].split("/")[1])


def cmd_bench(args) -> int:

    what = [w.strip() for w in args.what.split(",") if w.strip()]
    known = {"reference", "scaling", "textbook", "layers", "startup", "suite"}
    if set(what) - known:
        raise UsageError(f"--what: {sorted(set(what) - known)} unknown; choose from {sorted(known)}")
    backends = []
    if "layers" in what:
        backends = execution.available_here(args.backends)
    elif "suite" in what:  # each target in its own run: every one that loads (probed apart)
        backends = execution.asked_targets(args.backends) or [
            n for n, info in probes.targets()[0].items() if "reason" not in info
        ]
    out = Path(args.out) if args.out else None
    result = bench.run(what, args.reps, backends, out, suite=args.suite or "smoke")
    print(bench.format_result(result))
    if out is not None and (out / "results.jsonl").exists():  # a run folder: add the table
        from conformance.report import write_report  # noqa: PLC0415 (lazy: pandas and Jinja2 only when a report is written)

        write_report(out)
        print(f"report with the performance table: {out / 'report.html'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="conformance", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a suite on the backends and write reports/<run>/")
    options.add_to_argparse(
        run, {"suite": "default", "backends": "every available target", "device": Device.CPU}
    )
    run.add_argument(
        "--seed",
        type=int,
        default=None,
        help="sampling and input seed of the generated suites (default 0, the "
        "published one: same ids and input bytes everywhere)",
    )
    run.add_argument("--out", default=None, help="run folder (default: reports/<run-id>)")
    run.add_argument(
        "--versioned-out",
        action="store_true",
        help="append the versions of the targets' frameworks to the run folder's "
        "name (tox and CI runs of one environment with other pins then keep "
        "separate folders)",
    )
    run.add_argument(
        "--replace",
        action="store_true",
        help="start afresh in an --out folder that holds another run's records",
    )
    run.add_argument(
        "--jobs",
        type=_jobs,
        default=None,
        help="worker processes (default: the cores this process may use; capped by the memory available)",
    )
    run.add_argument(
        "--complete",
        action="store_true",
        help="every target computes every case (tox, the nightly job; implied by "
        "--shard); without it the targets that compile every call compute "
        "their first-run share (hand-written cases first) and the run says "
        "what it left out",
    )
    run.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=300.0,
        help="seconds per case x check before its worker is killed (status timeout)",
    )
    run.add_argument(
        "--no-isolate",
        action="store_true",
        help="run backends in this process (faster start; no time limit; a crash ends the run)",
    )
    run.add_argument(
        "--shard",
        default=None,
        metavar="K/N",
        help="run shard K of N: a deterministic 1/N of the suite's cases, balanced "
        "by expected cost, the same on every machine (merge the N run folders "
        "with `conformance report`)",
    )
    run.add_argument(
        "--resume",
        default=None,
        metavar="RUN_DIR",
        help="finish an interrupted run in RUN_DIR without redoing its records "
        "(checks that they are this run's)",
    )
    run.add_argument(
        "--retry-crashed", action="store_true", help="with --resume: compute crash and timeout records again"
    )
    run.set_defaults(fn=cmd_run)
    lst = sub.add_parser("list", help="backends (available or why not) and suites")
    lst.add_argument(
        "--fresh", action="store_true", help="probe the targets again instead of using the remembered answer"
    )
    lst.set_defaults(fn=cmd_list)
    show = sub.add_parser("show", help="a case's spec and each backend's outcome")
    show.add_argument("case_id")
    show.add_argument("--backends", default=None)
    show.add_argument(
        "--suite", default=None, help="suites or case files to look in (default: every named suite)"
    )
    show.set_defaults(fn=cmd_show)
    bench_p = sub.add_parser("bench", help="benchmarks: ratios against peers timed in the same run")
    bench_p.add_argument(
        "--what",
        default="reference,scaling,textbook,layers,startup",
        help="comma-separated: reference, scaling, textbook, layers, startup, "
        "suite (the last runs a suite per target: minutes)",
    )
    bench_p.add_argument(
        "--suite", default=None, help="the suite `--what suite` runs on each target (default smoke)"
    )
    bench_p.add_argument("--reps", type=int, default=5, help="repetitions per timing (median)")
    bench_p.add_argument("--backends", default=None)
    bench_p.add_argument("--out", default=None, help="folder for perf.json (the report shows it)")
    bench_p.set_defaults(fn=cmd_bench)
    diff = sub.add_parser("diff", help="status changes between two runs (exit 1 on new divergences)")
    diff.add_argument("old")
    diff.add_argument("new")
    diff.set_defaults(fn=cmd_diff)
    exp = sub.add_parser(
        "export", help="a suite's cases with reference outputs: ONNX test folders and .npz, for any runtime"
    )
    options.add_to_argparse(exp, {"suite": "default"}, only=("suite",))
    exp.add_argument("--seed", type=int, default=0, help="as for run (default 0)")
    exp.add_argument("--out", required=True, help="an empty or new folder for the bundle")
    exp.set_defaults(fn=cmd_export)
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
    except OSError as exc:  # a full disk, a folder that vanished, permissions
        where = f": {exc.filename}" if exc.filename else ""
        print(f"conformance: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2


def _version() -> str:

    try:
        return version("pooling-conformance")
    except PackageNotFoundError:  # a checkout on sys.path without an install
        return __version__


if __name__ == "__main__":
    sys.exit(main())
